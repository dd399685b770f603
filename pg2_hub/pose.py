"""Body poses: 18 OpenPose COCO keypoints, their file formats, geometry and PG2 encodings.

A `Pose` holds (x, y) pixel coordinates (x = column, y = row) in a frame of `image_size`
= (height, width), with -1 for a missing joint. It reads and writes the Pose-Transfer annotation
CSVs and OpenPose JSON, follows the image through resize / pad / crop / flip, and renders the
encodings PG2 uses: 18 disk maps (the generator input), Gaussian heatmaps, the pose mask M (the
loss weight) and an OpenPose-coloured skeleton drawing.

Encodings reproduce the released PG2 code (`_getSparseKeypoint`, `_getPoseMask`); see
docs of `disk_maps` and `pose_mask` for the exact rules.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

NUM_JOINTS = 18

# OpenPose COCO-18 order. The PG2 research code names 14-17 "Leye, Reye, Lear, Rear" while the
# OpenPose docs say "REye, LEye, REar, LEar": same model outputs, swapped names. Convert by index.
JOINT_NAMES = (
    "nose", "neck",
    "r_shoulder", "r_elbow", "r_wrist",
    "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle",
    "l_hip", "l_knee", "l_ankle",
    "r_eye", "l_eye", "r_ear", "l_ear",
)

# The 17 skeleton pairs OpenPose / controlnet-aux draw (spec section 1, made 0-based).
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)

# The 23 connections of the PG2 pose mask: LIMBS + neck-ears, hips, shoulder-hip diagonals, ears.
MASK_CONNECTIONS = LIMBS + ((1, 16), (1, 17), (8, 11), (11, 5), (8, 2), (16, 17))

# Joint k of a flipped pose is joint FLIP_PERMUTATION[k] of the original (left <-> right).
FLIP_PERMUTATION = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)

# RGB colours of OpenPose / controlnet-aux: joint j uses colour j, limb LIMBS[i] colour i.
OPENPOSE_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)

# COCO-18 joint k is BODY_25 joint BODY25_TO_COCO18[k]: coco = body25[BODY25_TO_COCO18].
# BODY_25 adds 8 MidHip and 19-24 feet, which COCO-18 does not have.
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)

CSV_HEADER = "name:keypoints_y:keypoints_x"
LIMB_COLOR_SCALE = 0.6  # controlnet-aux draws limbs at 60% of their colour, joints at 100%


class PoseError(ValueError):
    """Bad pose input: the message says what is wrong and what to do."""


def _float_array(value, what: str) -> np.ndarray:
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise PoseError(f"{what} must be numbers, got {type(value).__name__}: {error}") from None


def _check_size(size, what: str = "image_size") -> tuple[int, int]:
    """Validate a (height, width) pair of positive ints."""
    ok = isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in size)
    if not ok:
        raise PoseError(f"{what} must be (height, width) as two positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _check_ints(**values) -> None:
    for name, v in values.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise PoseError(f"{name} must be an int number of pixels, got {v!r}")


def _check_radius(radius) -> int:
    if not isinstance(radius, (int, np.integer)) or isinstance(radius, bool) or radius < 1:
        raise PoseError(f"radius must be a positive int (pixels), got {radius!r}")
    return int(radius)


def _stamp_disks(centres: np.ndarray, radius: int, size: tuple[int, int]) -> np.ndarray:
    """Union of solid disks of `radius` around integer (row, col) `centres`, clipped to `size`.

    A pixel (r+i, c+j) is in the disk when sqrt(i^2 + j^2) <= radius, as in the released
    `_getSparseKeypoint`. Centres outside the image still paint the part that overlaps it.
    """
    h, w = size
    offsets = np.arange(-radius, radius + 1)
    disk = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius ** 2  # (2R+1, 2R+1)
    pad = 2 * radius  # canvas margin so a stamp never needs clipping
    canvas = np.zeros((h + 2 * pad, w + 2 * pad), dtype=bool)
    for r, c in centres:
        if -radius <= r < h + radius and -radius <= c < w + radius:
            canvas[r + radius:r + 3 * radius + 1, c + radius:c + 3 * radius + 1] |= disk
    return canvas[pad:pad + h, pad:pad + w]


def _load_json(data) -> dict:
    if isinstance(data, (str, os.PathLike)):
        if isinstance(data, str) and data.lstrip().startswith("{"):
            text = data
        elif Path(data).is_file():
            text = Path(data).read_text()
        else:
            raise PoseError(f"OpenPose JSON: {str(data)[:80]!r} is neither a JSON object nor an "
                            "existing file; pass a dict, a JSON string or a path")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PoseError(f"OpenPose JSON does not parse: {error}") from None
    if not isinstance(data, dict):
        raise PoseError(f"OpenPose JSON must be an object with a 'people' list, got {type(data).__name__}")
    return data


def _parse_csv_list(text: str, axis: str) -> list[float]:
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise PoseError(f"the {axis} field must be a bracketed list like [12, 25, -1, ...], got {text[:40]!r}")
    inner = text[1:-1]
    items = inner.split(",") if inner.strip() else []
    if len(items) != NUM_JOINTS:
        raise PoseError(f"expected {NUM_JOINTS} {axis} values, got {len(items)}")
    values = []
    for item in items:
        try:
            values.append(float(item))
        except ValueError:
            raise PoseError(f"non-numeric value {item.strip()!r} in the {axis} list") from None
    return values


@dataclass(frozen=True, eq=False)
class Pose:
    """18 COCO keypoints of one person in one image frame. Immutable.

    A joint is missing when either coordinate is negative (stored as (-1, -1)) or, when scores
    are given, when its score is <= 0. Geometry methods return new poses.

    Args:
        keypoints: (18, 2) array of (x, y) pixels, x = column, y = row, -1 for missing.
        image_size: (height, width) of the frame the keypoints live in, or None if unknown.
        scores: optional (18,) confidences; stored as 0 for missing joints.
    """

    keypoints: np.ndarray
    image_size: tuple[int, int] | None = None
    scores: np.ndarray | None = None

    def __post_init__(self):
        kp = _float_array(self.keypoints, "keypoints")
        if kp.shape != (NUM_JOINTS, 2):
            raise PoseError(f"keypoints must be (18, 2) (x, y) pixels with -1 for missing, got "
                            f"shape {kp.shape}; use Pose.from_array for (18, 3) or flat input")
        if not np.isfinite(kp).all():
            raise PoseError("keypoints contain NaN or inf; mark a missing joint with -1 instead")
        missing = (kp < 0).any(axis=1)
        scores = None
        if self.scores is not None:
            scores = _float_array(self.scores, "scores")
            if scores.shape != (NUM_JOINTS,) or not np.isfinite(scores).all():
                raise PoseError(f"scores must be 18 finite confidences, got shape {scores.shape}")
            missing |= scores <= 0
            scores = np.where(missing, 0.0, scores).astype(np.float32)
            scores.flags.writeable = False
        kp[missing] = -1
        kp = kp.astype(np.float32)
        kp.flags.writeable = False
        size = None if self.image_size is None else _check_size(self.image_size)
        object.__setattr__(self, "keypoints", kp)
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "scores", scores)

    # ---- construction and file formats ----

    @classmethod
    def from_array(cls, array, image_size=None, scores=None) -> Pose:
        """Build a pose from (18, 2) (x, y) or (18, 3) (x, y, score) numbers, or a flat list of 36 / 54.

        Args:
            array: array-like of keypoints; with a score column, a joint with score <= 0 is missing.
            image_size: (height, width) of the frame, or None.
            scores: optional (18,) confidences; not allowed together with a score column.
        """
        arr = _float_array(array, "keypoints")
        if arr.ndim == 1 and arr.size in (2 * NUM_JOINTS, 3 * NUM_JOINTS):
            arr = arr.reshape(NUM_JOINTS, -1)
        if arr.shape not in ((NUM_JOINTS, 2), (NUM_JOINTS, 3)):
            raise PoseError("expected 18 COCO keypoints as (18, 2) (x, y) pixels with -1 for missing, "
                            f"or (18, 3) with a score column, or a flat list of 36 / 54, got shape {arr.shape}")
        if arr.shape[1] == 3:
            if scores is not None:
                raise PoseError("got both a score column and scores=; pass only one")
            scores = arr[:, 2]
        return cls(arr[:, :2], image_size=image_size, scores=scores)

    @classmethod
    def from_csv_row(cls, line: str, image_size=None) -> tuple[str, Pose]:
        """Parse a Pose-Transfer annotation row `NAME.jpg: [y0, ..., y17]: [x0, ..., x17]` (y list first).

        Args:
            line: one row of a `*-annotation-*.csv` file.
            image_size: (height, width) of the images the file describes, or None.

        Returns:
            (image name, pose).
        """
        fields = line.strip().split(":")
        if len(fields) != 3:
            raise PoseError(f"expected 3 ':'-separated fields 'NAME.jpg: [y0, ..., y17]: [x0, ..., x17]', "
                            f"got {len(fields)} in {line.strip()[:80]!r}")
        name = fields[0].strip()
        if not name:
            raise PoseError("the image name field is empty")
        ys = _parse_csv_list(fields[1], "y")
        xs = _parse_csv_list(fields[2], "x")
        return name, cls(np.stack([xs, ys], axis=1), image_size=image_size)

    def to_csv_row(self, name: str) -> str:
        """Format as an annotation row `name: [y...]: [x...]` with rounded integer pixels, -1 missing.

        Args:
            name: image file name; must not contain ':' or a newline.
        """
        if not name or ":" in name or "\n" in name:
            raise PoseError(f"image name must be non-empty without ':' or newlines, got {name!r}")
        xs, ys = (np.where(self.visible, np.rint(self.keypoints[:, i]), -1).astype(int) for i in (0, 1))
        return f"{name}: [{', '.join(map(str, ys))}]: [{', '.join(map(str, xs))}]"

    @classmethod
    def from_openpose_json(cls, data, image_size=None) -> Pose:
        """Read the most confident person of an OpenPose / controlnet-aux JSON.

        `people[i].pose_keypoints_2d` holds flat (x, y, confidence) triples: 54 values are COCO-18,
        75 are BODY_25 (mapped with BODY25_TO_COCO18). Confidence 0 marks a missing joint. The frame
        is (canvas_height, canvas_width) when the JSON has them (controlnet-aux writes them), else
        `image_size`. Coordinates are normalised, and scaled by (width, height) of that frame, when
        every present coordinate is <= 1.0; otherwise they are pixels. Normalised coordinates with
        no known frame are an error.

        Args:
            data: a dict, a JSON string or a path to a .json file.
            image_size: (height, width) frame to assume when the JSON has no canvas size, or None.
        """
        data = _load_json(data)
        people = [p.get("pose_keypoints_2d") or [] for p in data.get("people") or []]
        people = [p for p in people if len(p) > 0]
        if not people:
            raise PoseError("no person in the OpenPose JSON (empty 'people' or 'pose_keypoints_2d')")
        candidates = []
        for flat in people:
            arr = _float_array(flat, "pose_keypoints_2d")
            if arr.shape not in ((3 * NUM_JOINTS,), (75,)):
                raise PoseError(f"pose_keypoints_2d must have 54 (COCO-18) or 75 (BODY_25) numbers, got {arr.size}")
            arr = arr.reshape(-1, 3)
            candidates.append(arr[list(BODY25_TO_COCO18)] if len(arr) == 25 else arr)
        best = max(candidates, key=lambda a: a[:, 2].sum())  # first one wins a tie

        frame = None if image_size is None else _check_size(image_size)
        if "canvas_width" in data or "canvas_height" in data:
            frame = _check_size((data.get("canvas_height"), data.get("canvas_width")), "canvas (height, width)")
        xy, present = best[:, :2], best[:, 2] > 0
        if present.any() and np.abs(xy[present]).max() <= 1.0:
            if frame is None:
                raise PoseError("OpenPose coordinates look normalised (all <= 1) but the JSON has no "
                                "canvas_width/canvas_height: pass image_size=(height, width)")
            xy = xy * [frame[1], frame[0]]
        return cls(xy, image_size=frame, scores=best[:, 2])

    def to_openpose_json(self) -> dict:
        """OpenPose-style dict: one person, COCO-18 pixel (x, y, confidence) triples.

        Confidence is the score (1.0 if the pose has none) for present joints; missing joints are
        (0, 0, 0). canvas_width / canvas_height are written when image_size is known.
        """
        conf = self.scores if self.scores is not None else np.ones(NUM_JOINTS)
        triples = [[float(x), float(y), float(c)] if v else [0.0, 0.0, 0.0]
                   for (x, y), c, v in zip(self.keypoints, conf, self.visible)]
        out = {"people": [{"pose_keypoints_2d": [v for t in triples for v in t]}]}
        if self.image_size is not None:
            out["canvas_width"], out["canvas_height"] = self.image_size[1], self.image_size[0]
        return out

    # ---- basic accessors ----

    @property
    def visible(self) -> np.ndarray:
        """(18,) bool, True for present joints."""
        return self.keypoints[:, 0] >= 0

    @property
    def num_visible(self) -> int:
        """Number of present joints."""
        return int(self.visible.sum())

    def to_array(self) -> np.ndarray:
        """(18, 2) float32 writable copy of the (x, y) keypoints, -1 for missing."""
        return self.keypoints.copy()

    def __eq__(self, other):
        if not isinstance(other, Pose):
            return NotImplemented
        same_scores = (self.scores is None and other.scores is None) or (
            self.scores is not None and other.scores is not None and np.array_equal(self.scores, other.scores))
        return (self.image_size == other.image_size and same_scores
                and np.array_equal(self.keypoints, other.keypoints))

    def __hash__(self):
        scores = None if self.scores is None else self.scores.tobytes()
        return hash((self.keypoints.tobytes(), self.image_size, scores))

    def __repr__(self):
        missing = [JOINT_NAMES[k] for k in np.flatnonzero(~self.visible)]
        return (f"Pose(image_size={self.image_size}, visible={self.num_visible}/{NUM_JOINTS}, "
                f"missing={missing}, keypoints={np.round(self.keypoints, 1).tolist()}, "
                f"scores={'yes' if self.scores is not None else None})")

    # ---- geometry ----

    def _frame(self, size=None, what: str = "this") -> tuple[int, int]:
        """The (height, width) to work in: `size` if given (must agree with image_size), else image_size."""
        if size is None:
            if self.image_size is None:
                raise PoseError(f"{what} needs the frame size: pass size=(height, width) or build the "
                                "Pose with image_size=(height, width)")
            return self.image_size
        size = _check_size(size, "size")
        if self.image_size is not None and size != self.image_size:
            raise PoseError(f"size {size} differs from the pose's image_size {self.image_size}; "
                            "call .resize(size) (or pad/crop) first to move the keypoints")
        return size

    def _with(self, keypoints: np.ndarray, image_size, drop_outside: bool = False) -> Pose:
        """New pose with moved keypoints; missing stay missing, outside-frame ones optionally dropped."""
        keep = self.visible.copy()
        if drop_outside:
            h, w = image_size
            keep &= (keypoints >= 0).all(axis=1) & (keypoints[:, 0] <= w - 1) & (keypoints[:, 1] <= h - 1)
        keypoints = np.where(keep[:, None], keypoints, -1)
        scores = None if self.scores is None else np.where(keep, self.scores, 0)
        return Pose(keypoints, image_size=image_size, scores=scores)

    def resize(self, size) -> Pose:
        """Scale to a new frame like PIL's resize (pixel centres aligned): x' = (x + 0.5) * W'/W - 0.5.

        Joints inside the old frame are clamped to [0, W'-1] x [0, H'-1] (only the half-pixel
        border moves), so a visible edge joint never turns into the -1 "missing" marker.

        Args:
            size: (new_height, new_width).
        """
        h, w = self._frame(what="resize")
        nh, nw = _check_size(size, "size")
        kp = self.keypoints.astype(np.float64)
        new = (kp + 0.5) * [nw / w, nh / h] - 0.5
        inside = (kp >= 0).all(axis=1) & (kp[:, 0] <= w - 1) & (kp[:, 1] <= h - 1)
        new[inside] = np.clip(new[inside], 0, [nw - 1, nh - 1])
        return self._with(new, (nh, nw))

    def pad(self, top: int, bottom: int, left: int, right: int) -> Pose:
        """Pad the frame (negative values crop): keypoints shift by (left, top), image_size grows.

        Joints that end up outside the new frame become missing. 256x176 -> 256x256 is pad(0, 0, 40, 40).

        Args:
            top, bottom, left, right: pixels added on each side.
        """
        _check_ints(top=top, bottom=bottom, left=left, right=right)
        h, w = self._frame(what="pad")
        new_size = (h + top + bottom, w + left + right)
        if min(new_size) <= 0:
            raise PoseError(f"padding ({top}, {bottom}, {left}, {right}) leaves an empty {new_size} frame")
        return self._with(self.keypoints + np.float32([left, top]), new_size, drop_outside=True)

    def crop(self, top: int, left: int, height: int, width: int) -> Pose:
        """Crop a (height, width) window at (top, left); joints outside it become missing.

        256x256 -> 256x176 is crop(0, 40, 256, 176).

        Args:
            top, left: window origin in the current frame (pixels).
            height, width: window size.
        """
        _check_ints(top=top, left=left)
        new_size = _check_size((height, width), "crop (height, width)")
        return self._with(self.keypoints - np.float32([left, top]), new_size, drop_outside=True)

    def hflip(self) -> Pose:
        """Mirror horizontally (x' = W - 1 - x) and swap left/right joints (FLIP_PERMUTATION).

        A joint lying right of the frame (x > W - 1, rare in real annotations) mirrors to a
        negative x and becomes missing.
        """
        h, w = self._frame(what="hflip")
        mirrored = self._with(self.keypoints * [-1, 1] + [w - 1, 0], (h, w), drop_outside=True)
        perm = list(FLIP_PERMUTATION)
        scores = None if mirrored.scores is None else mirrored.scores[perm]
        return Pose(mirrored.keypoints[perm], image_size=(h, w), scores=scores)

    def interpolate(self, other: Pose, t: float) -> Pose:
        """Linear blend (1 - t) * self + t * other of joints present in both; others missing.

        Args:
            other: pose in the same frame (equal image_size).
            t: blend weight in [0, 1].
        """
        if not isinstance(other, Pose):
            raise PoseError(f"can only interpolate with another Pose, got {type(other).__name__}")
        if self.image_size != other.image_size:
            raise PoseError(f"image sizes differ ({self.image_size} vs {other.image_size}); resize one first")
        if not (isinstance(t, (int, float, np.floating, np.integer)) and 0 <= t <= 1):
            raise PoseError(f"t must be a number in [0, 1], got {t!r}")
        both = self.visible & other.visible
        kp = (1 - t) * self.keypoints.astype(np.float64) + t * other.keypoints
        scores = None
        if self.scores is not None and other.scores is not None:
            scores = np.where(both, (1 - t) * self.scores + t * other.scores, 0)
        return Pose(np.where(both[:, None], kp, -1), image_size=self.image_size, scores=scores)

    # ---- encodings ----

    def _centres(self) -> np.ndarray:
        """(18, 2) int (row, col) disk centres: int() truncation, as the released PG2 code."""
        return np.trunc(self.keypoints[:, ::-1]).astype(int)

    def disk_maps(self, radius: int = 4, size=None) -> np.ndarray:
        """The released PG2 pose input ('Solid' `_getSparseKeypoint`): one binary disk per joint.

        Centre (r, c) = (int(y), int(x)) (truncation, as the released code); pixel (r+i, c+j) is 1
        when sqrt(i^2 + j^2) <= radius and it lies in the image. A missing joint gives a zero channel.

        Args:
            radius: disk radius in pixels (4 in PG2).
            size: (height, width) to render at; defaults to image_size.

        Returns:
            (18, H, W) float32 in {0, 1}.
        """
        radius, size = _check_radius(radius), self._frame(size, "disk_maps")
        maps = np.zeros((NUM_JOINTS, *size), dtype=np.float32)
        centres = self._centres()
        for k in np.flatnonzero(self.visible):
            maps[k] = _stamp_disks(centres[k:k + 1], radius, size)
        return maps

    def gaussian_maps(self, sigma: float = 6.0, size=None) -> np.ndarray:
        """Gaussian heatmaps exp(-((x' - x)^2 + (y' - y)^2) / (2 sigma^2)) at the exact joint position.

        Args:
            sigma: standard deviation in pixels (6 in PATN and later work).
            size: (height, width) to render at; defaults to image_size.

        Returns:
            (18, H, W) float32 in [0, 1]; a missing joint gives a zero channel.
        """
        if not (isinstance(sigma, (int, float, np.floating)) and sigma > 0):
            raise PoseError(f"sigma must be a positive number of pixels, got {sigma!r}")
        h, w = self._frame(size, "gaussian_maps")
        x, y = self.keypoints[:, :1].astype(np.float64), self.keypoints[:, 1:].astype(np.float64)
        gx = np.exp(-(np.arange(w) - x) ** 2 / (2 * sigma ** 2))  # (18, W)
        gy = np.exp(-(np.arange(h) - y) ** 2 / (2 * sigma ** 2))  # (18, H)
        maps = gy[:, :, None] * gx[:, None, :]  # (18, H, W)
        maps[~self.visible] = 0
        return maps.astype(np.float32)

    def pose_maps(self, kind: str = "disk", radius: int = 4, sigma: float = 6.0, size=None) -> np.ndarray:
        """The generator's pose input, scaled to [-1, 1] like the images: 2 * maps - 1.

        This is the single entry point the pipeline and datasets use.

        Args:
            kind: "disk" (released PG2, radius-4 solid disks) or "gaussian" (sigma-6 heatmaps).
            radius: disk radius, for kind="disk".
            sigma: Gaussian sigma, for kind="gaussian".
            size: (height, width) to render at; defaults to image_size.

        Returns:
            (18, H, W) float32 in [-1, 1]; a missing joint gives an all -1 channel.
        """
        if kind == "disk":
            maps = self.disk_maps(radius=radius, size=size)
        elif kind == "gaussian":
            maps = self.gaussian_maps(sigma=sigma, size=size)
        else:
            raise PoseError(f"kind must be 'disk' or 'gaussian', got {kind!r}")
        maps *= 2  # in place: this runs for every training sample
        maps -= 1
        return maps

    def pose_mask(self, radius: int = 4, size=None) -> np.ndarray:
        """The released PG2 pose mask M (`_getPoseMask`), the weight of the pose mask loss.

        For each of the 23 MASK_CONNECTIONS with both joints present: disks (as `disk_maps`,
        centres truncated with int()) at both ends and, with n = int(length / radius), when n > 1
        at the n - 1 points p0 + (p1 - p0) * i / n, i = 1..n-1. Then a closing: 5x5 grey dilation
        then erosion, border mode 'reflect' (what skimage's dilation/erosion with square(5) do).

        Args:
            radius: disk radius in pixels (4 in PG2).
            size: (height, width) to render at; defaults to image_size.

        Returns:
            (H, W) float32 in {0, 1}.
        """
        radius, size = _check_radius(radius), self._frame(size, "pose_mask")
        rc = self.keypoints[:, ::-1].astype(np.float64)  # (18, 2) (row, col)
        points = []
        for a, b in MASK_CONNECTIONS:
            if not (self.visible[a] and self.visible[b]):
                continue
            n = int(np.hypot(*(rc[a] - rc[b])) / radius)
            steps = np.arange(1, n)[:, None] / n if n > 1 else np.zeros((0, 1))
            points += [rc[a][None], rc[b][None], rc[a] + (rc[b] - rc[a]) * steps]
        centres = np.trunc(np.concatenate(points)).astype(int) if points else np.zeros((0, 2), int)
        mask = _stamp_disks(centres, radius, size).astype(np.float32)
        mask = ndimage.grey_dilation(mask, size=(5, 5), mode="reflect")
        return ndimage.grey_erosion(mask, size=(5, 5), mode="reflect")

    def draw(self, canvas=None, size=None, stick_width: int = 4, radius: int = 4) -> Image.Image:
        """OpenPose-style skeleton: limbs as filled ellipses at 60% colour, then joints as full-colour dots.

        Follows controlnet-aux's `draw_bodypose`: limb LIMBS[i] in OPENPOSE_COLORS[i], joint j a
        disk of `radius` around (int(x), int(y)) in OPENPOSE_COLORS[j], drawn last.

        Args:
            canvas: optional PIL image or (H, W, 3) uint8 array to draw on (a copy is made);
                black when None.
            size: (height, width) of a black canvas; defaults to image_size.
            stick_width: half-thickness of a limb in pixels.
            radius: joint dot radius in pixels.

        Returns:
            RGB PIL image.
        """
        if canvas is not None:
            image = canvas.copy() if isinstance(canvas, Image.Image) else Image.fromarray(np.asarray(canvas, np.uint8))
            image = image.convert("RGB")
            if size is not None and _check_size(size, "size") != (image.height, image.width):
                raise PoseError(f"size {size} differs from the canvas {(image.height, image.width)}")
            self._frame((image.height, image.width), "draw")
        else:
            h, w = self._frame(size, "draw")
            image = Image.new("RGB", (w, h))
        pen = ImageDraw.Draw(image)
        kp, vis = self.keypoints.astype(np.float64), self.visible
        angles = np.radians(np.arange(0, 361))
        for (a, b), color in zip(LIMBS, OPENPOSE_COLORS):
            if not (vis[a] and vis[b]):
                continue
            # like cv2.ellipse2Poly in controlnet-aux: integer centre, half-length and angle (degrees)
            (cx, cy), (dx, dy) = (kp[a] + kp[b]) / 2, kp[a] - kp[b]
            half_length = int(math.hypot(dx, dy) / 2)
            theta = math.radians(int(math.degrees(math.atan2(dy, dx))))
            ex, ey = half_length * np.cos(angles), stick_width * np.sin(angles)  # ellipse along x
            xs = np.rint(int(cx) + ex * math.cos(theta) - ey * math.sin(theta))
            ys = np.rint(int(cy) + ex * math.sin(theta) + ey * math.cos(theta))
            pen.polygon(list(zip(xs, ys)), fill=tuple(int(c * LIMB_COLOR_SCALE) for c in color))
        for (x, y), color, v in zip(kp, OPENPOSE_COLORS, vis):
            if v:
                cx, cy = int(x), int(y)
                pen.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=tuple(color))
        return image


def read_annotation_csv(path, image_size=None, on_error: str = "raise", return_skipped: bool = False):
    """Read a Pose-Transfer annotation CSV (header `name:keypoints_y:keypoints_x`) into {name: Pose}.

    Args:
        path: the `*-annotation-*.csv` file.
        image_size: (height, width) of its images (e.g. (128, 64) Market, (256, 176) DeepFashion), or None.
        on_error: "raise" stops at the first bad row with file and 1-based line number;
            "skip" drops bad rows (and warns, unless return_skipped is True).
        return_skipped: also return the list of skipped 1-based line numbers.

    Returns:
        {name: Pose} in file order, or (poses, skipped_lines) when return_skipped is True.
    """
    if on_error not in ("raise", "skip"):
        raise PoseError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    poses, skipped = {}, []
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or (lineno == 1 and line.replace(" ", "").strip() == CSV_HEADER):
                continue
            try:
                name, pose = Pose.from_csv_row(line, image_size=image_size)
                if name in poses:
                    raise PoseError(f"duplicate image name {name!r}")
            except PoseError as error:
                if on_error == "raise":
                    raise PoseError(f"{path}:{lineno}: {error}") from None
                skipped.append(lineno)
                continue
            poses[name] = pose
    if skipped and not return_skipped:
        warnings.warn(f"{path}: skipped {len(skipped)} bad rows (lines {skipped[:10]}...)", stacklevel=2)
    return (poses, skipped) if return_skipped else poses


def write_annotation_csv(path, poses: dict[str, Pose]) -> None:
    """Write {name: Pose} as a Pose-Transfer annotation CSV, atomically (temp file + os.replace).

    Args:
        path: destination file.
        poses: image name -> pose; coordinates are rounded to integer pixels.
    """
    path = Path(path)
    rows = [CSV_HEADER] + [pose.to_csv_row(name) for name, pose in poses.items()]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(rows) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
