"""Synthetic people: simple figures drawn from 18 COCO keypoints, the same person in several poses.

Each person has one `Appearance` (skin, hair, clothing colours and patterns, build) and is drawn in
several poses: limbs are capsules, the torso a polygon, the head a disk with hair, over a plain
(DeepFashion-like) or street-like (Market-like) background. Poses come from a small kinematic
model (`sample_pose`) or from a real annotation CSV. `make_synthetic_dataset` writes the result in
the Pose-Transfer layout (images folder, annotation CSV, pairs CSV, see `pg2_hub.data`), so the
training scripts and tests run without any real data:

    root = make_synthetic_dataset("runs/synthetic", image_size=(128, 64), people={"train": 64, "test": 8})
    ds = PoseTransferDataset(root, "train")

Nothing here is meant to look real; it gives G1/G2 a task with the right structure (same
appearance, new pose) that is learnable in a few hundred CPU steps.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .geometry import Letterbox
from .pose import NUM_JOINTS, Pose, read_annotation_csv, write_annotation_csv

Color = tuple[int, int, int]

PATTERNS = ("solid", "hstripes", "vstripes", "checks", "dots")
BOTTOMS = ("trousers", "shorts", "skirt")
BACKGROUNDS = ("white", "scene")
SKIN_TONES: tuple[Color, ...] = ((255, 224, 196), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 58, 30))
HAIR_COLORS: tuple[Color, ...] = ((20, 16, 14), (60, 40, 25), (110, 75, 40), (190, 150, 90), (150, 60, 30), (120, 120, 120))

# Body model in units of body height (head top = 0, ankles ~ 0.96): x = the person's left,
# y = down, z = towards the camera for a person facing it. Joints given here are the rest pose;
# limbs are added by angles in `sample_pose`.
_REST = {
    0: (0.0, 0.090, 0.050),  # nose
    1: (0.0, 0.185, 0.0),  # neck
    2: (-0.110, 0.200, 0.0),  # r shoulder
    5: (0.110, 0.200, 0.0),  # l shoulder
    8: (-0.062, 0.520, 0.0),  # r hip
    11: (0.062, 0.520, 0.0),  # l hip
    14: (-0.024, 0.074, 0.040),  # r eye
    15: (0.024, 0.074, 0.040),  # l eye
    16: (-0.052, 0.084, 0.0),  # r ear
    17: (0.052, 0.084, 0.0),  # l ear
}
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.165, 0.150, 0.225, 0.225


@dataclass(frozen=True)
class Appearance:
    """How one synthetic person looks; the same in every pose.

    Args:
        skin, hair: RGB colours.
        long_hair: hair down to the shoulders.
        top, top_second: main and second colour of the upper garment.
        top_pattern: one of PATTERNS.
        long_sleeves: sleeves down to the wrists (else the forearms show skin).
        bottom, bottom_second: colours of the lower garment; bottom_pattern one of PATTERNS.
        bottom_kind: "trousers", "shorts" or "skirt".
        shoes: RGB colour.
        pattern_period: stripe / check period as a fraction of the torso length.
        build: limb thickness factor (about 0.8-1.2).
    """

    skin: Color
    hair: Color
    long_hair: bool
    top: Color
    top_second: Color
    top_pattern: str
    long_sleeves: bool
    bottom: Color
    bottom_second: Color
    bottom_pattern: str
    bottom_kind: str
    shoes: Color
    pattern_period: float
    build: float

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Appearance:
        """Draw a random appearance from `rng`."""

        def colour() -> Color:
            return tuple(int(v) for v in rng.integers(0, 256, 3))

        return cls(
            skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
            hair=HAIR_COLORS[rng.integers(len(HAIR_COLORS))],
            long_hair=bool(rng.random() < 0.4),
            top=colour(),
            top_second=colour(),
            top_pattern=PATTERNS[rng.integers(len(PATTERNS))],
            long_sleeves=bool(rng.random() < 0.5),
            bottom=colour(),
            bottom_second=colour(),
            bottom_pattern=PATTERNS[0] if rng.random() < 0.6 else PATTERNS[rng.integers(len(PATTERNS))],
            bottom_kind=BOTTOMS[rng.choice(3, p=[0.6, 0.2, 0.2])],
            shoes=colour(),
            pattern_period=float(rng.uniform(0.12, 0.3)),
            build=float(rng.uniform(0.8, 1.2)),
        )


# ---- poses -------------------------------------------------------------------------------------


def _direction(side: float, abduction: float, swing: float) -> np.ndarray:
    """Unit limb direction: straight down, rotated `abduction` outwards (side -1 right, +1 left) and `swing` forwards."""
    return np.array([side * math.sin(abduction) * math.cos(swing), math.cos(abduction) * math.cos(swing), math.sin(swing)])


def sample_pose(rng: np.random.Generator, image_size: tuple[int, int] = (128, 64)) -> tuple[Pose, np.ndarray]:
    """A random standing / walking / gesturing person from a small kinematic model.

    The body (fixed proportions) is turned by a random yaw (front, back or side views), arms and legs
    get random abduction, swing and elbow / knee flexion, and the result is projected
    orthographically into `image_size`. Face joints facing away from the camera are missing, as
    OpenPose reports them; joints falling outside the frame are missing; now and then a wrist or
    ankle is dropped, like a missed detection.

    Args:
        rng: random generator.
        image_size: (height, width) of the frame.

    Returns:
        (pose, depth): the Pose and the (18,) depth of each joint towards the camera (for drawing order).
    """
    h, w = image_size
    joints = {k: np.array(v) for k, v in _REST.items()}
    for side, (sho, elb, wri) in ((-1.0, (2, 3, 4)), (1.0, (5, 6, 7))):
        abduction = float(np.clip(abs(rng.normal(0.25, 0.55)), 0.05, 2.9))
        swing = float(rng.normal(0.0, 0.45))
        flex = float(rng.uniform(0.0, 2.0)) if rng.random() < 0.6 else 0.0
        joints[elb] = joints[sho] + _UPPER_ARM * _direction(side, abduction, swing)
        joints[wri] = joints[elb] + _FOREARM * _direction(side, abduction + rng.normal(0, 0.3), swing + flex)
    stride = float(rng.normal(0.0, 0.3))
    for side, sign, (hip, knee, ankle) in ((-1.0, 1.0, (8, 9, 10)), (1.0, -1.0, (11, 12, 13))):
        abduction = float(np.clip(abs(rng.normal(0.06, 0.12)), 0.0, 0.7))
        swing = sign * stride + float(rng.normal(0.0, 0.08))
        joints[knee] = joints[hip] + _THIGH * _direction(side, abduction, swing)
        joints[ankle] = joints[knee] + _SHIN * _direction(side, abduction * 0.5, swing - float(rng.uniform(0.0, 0.6)))

    # view: front, back or side, then project
    view = rng.choice(3, p=[0.45, 0.25, 0.30])
    yaw = [0.0, math.pi, rng.choice([-1, 1]) * math.pi / 2][view] + float(rng.normal(0.0, 0.25))
    xyz = np.stack([joints[k] for k in range(NUM_JOINTS)])  # (18, 3)
    x = xyz[:, 0] * math.cos(yaw) + xyz[:, 2] * math.sin(yaw)
    depth = -xyz[:, 0] * math.sin(yaw) + xyz[:, 2] * math.cos(yaw)
    y = xyz[:, 1] + 0.03 * x * float(rng.normal())  # a slight lean
    height = h * float(rng.uniform(0.72, 0.88))
    top = float(rng.uniform(0.02, 0.98 - 0.97 * height / h)) * h
    centre = w / 2 + float(rng.uniform(-0.08, 0.08)) * w
    keypoints = np.stack([centre + x * height, top + y * height], axis=1)  # (18, 2) (x, y)

    # face joints turned away are not detected; now and then a wrist or ankle is missed
    visible = np.ones(NUM_JOINTS, dtype=bool)
    visible[[0, 14, 15]] = depth[[0, 14, 15]] > 0.005
    visible[[16, 17]] = depth[[16, 17]] > -0.03
    if rng.random() < 0.15:
        visible[rng.choice([4, 7, 10, 13])] = False
    inside = (keypoints >= 0).all(1) & (keypoints[:, 0] <= w - 1) & (keypoints[:, 1] <= h - 1)
    keypoints[~(visible & inside)] = -1
    return Pose(keypoints, image_size=(h, w)), depth.astype(np.float32)


def load_pose_source(path, image_size: tuple[int, int], source_size: tuple[int, int] | None = None,
                     min_joints: int = 8) -> list[Pose]:
    """Poses from a real annotation CSV, fitted into `image_size` with the letterbox rule.

    Args:
        path: a Pose-Transfer annotation CSV, e.g. ../shared/data/annotations/market-annotation-train.csv.
        image_size: (height, width) of the synthetic images.
        source_size: (height, width) frame of the CSV; None guesses from the file name
            ("market" -> 128x64, "fasion"/"fashion" -> 256x176).
        min_joints: drop poses with fewer visible joints (too little to draw a figure).
    """
    path = Path(path)
    if source_size is None:
        name = path.name.lower()
        if "market" in name:
            source_size = (128, 64)
        elif "fasion" in name or "fashion" in name:
            source_size = (256, 176)
        else:
            raise ValueError(f"cannot tell the image size of the poses in {path}: pass source_size=(height, width)")
    box = Letterbox(tuple(source_size), tuple(image_size))
    poses = [box.pose(Pose(p.keypoints, image_size=tuple(source_size)))
             for p in read_annotation_csv(path, on_error="skip").values()]
    poses = [p for p in poses if p.num_visible >= min_joints]
    if not poses:
        raise ValueError(f"{path} has no pose with at least {min_joints} visible joints")
    return poses


# ---- drawing -----------------------------------------------------------------------------------


def _pattern(size: tuple[int, int], a: Color, b: Color, kind: str, period: float) -> Image.Image:
    """A (width, height) RGB image filled with `kind` in colours a and b, `period` pixels per repeat."""
    w, h = size
    if kind == "solid":
        return Image.new("RGB", size, a)
    period = max(period, 2.0)
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == "hstripes":
        on = (yy // (period / 2)) % 2 == 0
    elif kind == "vstripes":
        on = (xx // (period / 2)) % 2 == 0
    elif kind == "checks":
        on = ((yy // (period / 2)) + (xx // (period / 2))) % 2 == 0
    elif kind == "dots":
        on = ((yy % period - period / 2) ** 2 + (xx % period - period / 2) ** 2) > (period / 4) ** 2
    else:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {kind!r}")
    array = np.where(on[..., None], np.array(a, np.uint8), np.array(b, np.uint8))
    return Image.fromarray(array.astype(np.uint8))


def background_image(rng: np.random.Generator, image_size: tuple[int, int], kind: str = "scene") -> Image.Image:
    """A background: plain white ("white", DeepFashion-like) or a street-like scene ("scene", Market-like):
    a vertical gradient, a floor band, a few muted blocks and some pixel noise."""
    h, w = image_size
    if kind == "white":
        return Image.new("RGB", (w, h), (255, 255, 255))
    if kind != "scene":
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {kind!r}")
    top, bottom = rng.integers(60, 230, 3), rng.integers(40, 200, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    array = (1 - t) * top + t * bottom + np.zeros((1, w, 1))  # (H, W, 3)
    for _ in range(int(rng.integers(1, 4))):  # walls, windows, parked things
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(-w // 2, w))
        array[y0:y0 + int(rng.integers(h // 8, h // 2)), max(x0, 0):max(x0 + int(rng.integers(w // 4, w)), 0)] = rng.integers(30, 220, 3)
    floor = int(h * rng.uniform(0.72, 0.85))
    array[floor:] = rng.integers(50, 180, 3)
    array += rng.normal(0, 6, array.shape)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def render_person(pose: Pose, appearance: Appearance, background: Image.Image | None = None,
                  depth: np.ndarray | None = None, supersample: int = 2) -> Image.Image:
    """Draw `appearance` in `pose` over `background` (white when None).

    Limbs whose joints are missing are not drawn; limbs farther from the camera (`depth`, when
    given) are drawn before the torso. Drawn at `supersample` times the size, then reduced.

    Args:
        pose: keypoints with image_size set.
        appearance: the person's look.
        background: RGB image of the pose's frame size.
        depth: optional (18,) joint depths towards the camera (from `sample_pose`).
        supersample: anti-aliasing factor.

    Returns:
        RGB PIL image of pose.image_size.
    """
    if pose.image_size is None:
        raise ValueError("render_person needs a pose with image_size=(height, width)")
    h, w = pose.image_size
    s = supersample
    canvas = (background.copy() if background is not None else Image.new("RGB", (w, h), (255, 255, 255))).convert("RGB")
    if canvas.size != (w, h):
        raise ValueError(f"background is {canvas.size[1]}x{canvas.size[0]}, the pose frame is {h}x{w}")
    canvas = canvas.resize((w * s, h * s), Image.Resampling.NEAREST)
    kp = (pose.keypoints.astype(np.float64) + 0.5) * s  # pixel centres at the supersampled scale
    vis = pose.visible
    depth = np.zeros(NUM_JOINTS) if depth is None else np.asarray(depth, dtype=np.float64)
    a = appearance

    # body scale: the torso length (neck to mid-hip), or a guess from the frame
    hips = [k for k in (8, 11) if vis[k]]
    unit = np.hypot(*(kp[1] - kp[hips].mean(0))) if vis[1] and hips else 0.0
    unit = max(unit, 0.22 * h * s) * a.build

    def fill(mask: Image.Image, colours: tuple[Color, Color], pattern: str) -> None:
        layer = _pattern(canvas.size, colours[0], colours[1], pattern, a.pattern_period * unit)
        canvas.paste(layer, mask=mask)

    def new_mask() -> tuple[Image.Image, ImageDraw.ImageDraw]:
        m = Image.new("L", canvas.size, 0)
        return m, ImageDraw.Draw(m)

    def capsule(draw: ImageDraw.ImageDraw, i: int, j: int, width: float, end_i: bool = True, end_j: bool = True) -> bool:
        if not (vis[i] and vis[j]):
            return False
        (x0, y0), (x1, y1) = kp[i], kp[j]
        draw.line([(x0, y0), (x1, y1)], fill=255, width=max(int(width), 1))
        r = width / 2
        for (x, y), end in (((x0, y0), end_i), ((x1, y1), end_j)):
            if end:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
        return True

    def limb_set(sho: int, elb: int, wri: int, hip: int, knee: int, ank: int, far: bool) -> None:
        """Draw one side's leg, shoe and arm if it is on the far (or near) side of the body."""
        if (depth[[sho, hip]].mean() < depth.mean() - 1e-3) != far:
            return
        # leg: skin under shorts / skirt, then the garment
        m, d = new_mask()
        if a.bottom_kind != "trousers":
            capsule(d, knee, ank, 0.17 * unit)
            canvas.paste(a.skin, mask=m)
            m, d = new_mask()
            capsule(d, hip, knee, 0.24 * unit)
        else:
            capsule(d, hip, knee, 0.24 * unit)
            capsule(d, knee, ank, 0.19 * unit)
        fill(m, (a.bottom, a.bottom_second), a.bottom_pattern)
        if vis[ank]:
            m, d = new_mask()
            x, y = kp[ank]
            d.ellipse([x - 0.11 * unit, y - 0.05 * unit, x + 0.11 * unit, y + 0.07 * unit], fill=255)
            canvas.paste(a.shoes, mask=m)
        # arm: sleeve on the upper arm (and forearm if long), skin otherwise, a hand at the wrist
        m, d = new_mask()
        capsule(d, elb, wri, 0.14 * unit)
        if vis[wri]:
            x, y = kp[wri]
            d.ellipse([x - 0.08 * unit, y - 0.08 * unit, x + 0.08 * unit, y + 0.08 * unit], fill=255)
        canvas.paste(a.skin, mask=m)
        m, d = new_mask()
        capsule(d, sho, elb, 0.17 * unit)
        if a.long_sleeves:
            capsule(d, elb, wri, 0.15 * unit, end_j=False)
        fill(m, (a.top, a.top_second), a.top_pattern)

    sides = ((2, 3, 4, 8, 9, 10), (5, 6, 7, 11, 12, 13))  # right, left: shoulder, elbow, wrist, hip, knee, ankle
    for side in sides:
        limb_set(*side, far=True)

    # head geometry: centre from the face joints, else above the neck
    face = [k for k in (0, 14, 15, 16, 17) if vis[k]]
    head_r = 0.26 * unit
    if face:
        centre = kp[face].mean(0)
    elif vis[1]:
        centre = kp[1] - [0, 0.42 * unit]
    else:
        centre = None

    # long hair hangs behind the shoulders
    if centre is not None and a.long_hair:
        m, d = new_mask()
        cx, cy = centre
        d.rounded_rectangle([cx - head_r * 1.15, cy - head_r, cx + head_r * 1.15, cy + head_r * 2.3], radius=head_r, fill=255)
        canvas.paste(a.hair, mask=m)

    # torso: polygon through shoulders and hips, or a capsule from the neck to the hips
    m, d = new_mask()
    corners = [k for k in (2, 5, 11, 8) if vis[k]]
    if len(corners) >= 3:
        d.polygon([tuple(kp[k]) for k in corners], fill=255)
        for k in corners:
            r = 0.09 * unit
            d.ellipse([kp[k][0] - r, kp[k][1] - r, kp[k][0] + r, kp[k][1] + r], fill=255)
        for i, j in ((2, 5), (5, 11), (11, 8), (8, 2)):
            capsule(d, i, j, 0.18 * unit)
    else:
        for hip in hips:
            capsule(d, 1, hip, 0.45 * unit)
    if a.bottom_kind == "skirt" and hips:
        knees = [k for k in (9, 12) if vis[k]]
        hip_pts, knee_pts = kp[hips], kp[knees] if knees else kp[hips] + [0, 0.5 * unit]
        left_x = min(hip_pts[:, 0].min(), knee_pts[:, 0].min()) - 0.1 * unit
        right_x = max(hip_pts[:, 0].max(), knee_pts[:, 0].max()) + 0.1 * unit
        ys = (hip_pts[:, 1].mean(), knee_pts[:, 1].mean())
        ms, ds = new_mask()
        ds.polygon([(hip_pts[:, 0].min() - 0.05 * unit, ys[0]), (hip_pts[:, 0].max() + 0.05 * unit, ys[0]),
                    (right_x, ys[1]), (left_x, ys[1])], fill=255)
        fill(ms, (a.bottom, a.bottom_second), a.bottom_pattern)
    fill(m, (a.top, a.top_second), a.top_pattern)

    for side in sides:
        limb_set(*side, far=False)

    # neck, head, hair; the face shows when the nose is visible
    if centre is not None:
        m, d = new_mask()
        if vis[1]:
            d.line([tuple(kp[1]), tuple(centre)], fill=255, width=max(int(0.2 * unit), 1))
        cx, cy = centre
        d.ellipse([cx - head_r, cy - head_r * 1.1, cx + head_r, cy + head_r * 1.1], fill=255)
        canvas.paste(a.skin, mask=m)
        m, d = new_mask()
        if vis[0]:  # hair cap over the top of the head
            d.chord([cx - head_r * 1.05, cy - head_r * 1.2, cx + head_r * 1.05, cy + head_r * 0.6], 180, 360, fill=255)
        else:  # seen from behind: all hair
            d.ellipse([cx - head_r * 1.05, cy - head_r * 1.15, cx + head_r * 1.05, cy + head_r * 1.1], fill=255)
        canvas.paste(a.hair, mask=m)
    return canvas.reduce(s) if s > 1 else canvas


# ---- datasets ----------------------------------------------------------------------------------


def make_synthetic_dataset(
    root,
    image_size: tuple[int, int] = (128, 64),
    people: dict[str, int] | None = None,
    poses_per_person: int = 3,
    pose_source: str | None = None,
    pose_source_size: tuple[int, int] | None = None,
    background: str = "scene",
    seed: int = 0,
    name: str = "synthetic",
) -> Path:
    """Write synthetic people in the Pose-Transfer layout and return `root`.

    Layout: `root/{split}/*.png`, `root/{name}-annotation-{split}.csv` (keypoints in the image
    frame) and `root/{name}-pairs-{split}.csv` (every ordered pair of two images of one person).
    Splits hold different people. A `root/synthetic.json` records the arguments; calling again with
    the same arguments reuses the files.

    Args:
        root: output folder.
        image_size: (height, width) of the stored images, e.g. (128, 64) Market-like, (256, 176) DeepFashion-like.
        people: number of people per split; default {"train": 32, "test": 8}.
        poses_per_person: images per person (>= 2).
        pose_source: annotation CSV to sample poses from; None uses the kinematic model `sample_pose`.
        pose_source_size: (height, width) frame of `pose_source` (guessed from its name when None).
        background: "scene" (Market-like) or "white" (DeepFashion-like).
        seed: random seed; same arguments and seed give the same files.
        name: file-name prefix of the CSVs.
    """
    people = dict(people or {"train": 32, "test": 8})
    if poses_per_person < 2:
        raise ValueError(f"poses_per_person must be >= 2 to make pairs, got {poses_per_person}")
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    root = Path(root)
    spec = dict(image_size=list(image_size), people=people, poses_per_person=poses_per_person,
                pose_source=str(pose_source) if pose_source else None,
                pose_source_size=list(pose_source_size) if pose_source_size else None,
                background=background, seed=seed, name=name, version=1)
    marker = root / "synthetic.json"
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        return root
    root.mkdir(parents=True, exist_ok=True)
    source = load_pose_source(pose_source, tuple(image_size), pose_source_size) if pose_source else None
    rng = np.random.default_rng(seed)
    for split, count in people.items():
        (root / split).mkdir(exist_ok=True)
        poses, pairs = {}, []
        for person in range(count):
            look = Appearance.sample(rng)
            names = []
            for k in range(poses_per_person):
                if source is None:
                    pose, depth = sample_pose(rng, tuple(image_size))
                else:
                    pose, depth = source[int(rng.integers(len(source)))], None
                image = render_person(pose, look, background_image(rng, tuple(image_size), background), depth)
                file = f"{name}_{split}_{person:05d}_{k}.png"
                image.save(root / split / file)
                poses[file] = pose
                names.append(file)
            pairs += [(a, b) for a in names for b in names if a != b]
        write_annotation_csv(root / f"{name}-annotation-{split}.csv", poses)
        (root / f"{name}-pairs-{split}.csv").write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs))
    marker.write_text(json.dumps(spec, indent=1))
    return root
