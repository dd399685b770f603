"""The Pose-Transfer pair dataset: condition image I_A, target image I_B, target pose maps P_B, target mask M_B.

Layout (spec section 5), read unchanged from disk:

    ROOT/train/*.jpg                      images of the split
    ROOT/<prefix>-annotation-train.csv    `name:keypoints_y:keypoints_x`, one row per image
    ROOT/<prefix>-pairs-train.csv         `from,to`, one ordered (condition, target) pair per row

with prefix `fasion-resize` (DeepFashion), `market` (Market-1501) or `synthetic` (`pg2_hub.synthetic`).
Images and poses are fitted into the model geometry with `geometry.Letterbox` (256x176 DeepFashion ->
256x256 by 40 px of white each side) and encoded with `Pose.pose_maps` / `Pose.pose_mask`, the same
code the inference pipeline uses.

    ds = PoseTransferDataset("../shared/data/market", "train")
    item = ds[0]          # I_A, I_B (3, H, W); P_B (18, H, W); M_B (1, H, W); kp_A, kp_B (18, 2); names
    item = ds[0, True]    # the same pair mirrored: both images and both poses (left/right joints swapped)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .augment import PairAugment
from .geometry import Letterbox, to_tensor
from .pose import NUM_JOINTS, Pose, read_annotation_csv

POSE_ENCODINGS = ("disk", "gaussian", "coordinates")


class DatasetError(ValueError):
    """The dataset folder or one of its files is malformed; the message names the file and line."""


def pose_channels(encoding: str) -> int:
    """Number of pose channels G1 gets for an encoding: 18 maps, or 36 for coordinates."""
    if encoding not in POSE_ENCODINGS:
        raise ValueError(f"pose_encoding must be one of {POSE_ENCODINGS}, got {encoding!r}")
    return 2 * NUM_JOINTS if encoding == "coordinates" else NUM_JOINTS


def encode_pose(pose: Pose, encoding: str = "disk", radius: int = 4, sigma: float = 6.0) -> np.ndarray:
    """The G1 pose input of `pose` (in model geometry), in [-1, 1].

    "disk" and "gaussian" are `Pose.pose_maps` (18, H, W). "coordinates" is the Table 1 ablation
    G1-CE (pose as keypoint coordinates): 36 constant channels holding x / (W - 1) and y / (H - 1) of
    each joint in [0, 1], -1 for a missing joint.

    Args:
        pose: keypoints with image_size = the model geometry.
        encoding: "disk", "gaussian" or "coordinates".
        radius: disk radius (disk).
        sigma: Gaussian sigma (gaussian).
    """
    if encoding != "coordinates":
        return pose.pose_maps(kind=encoding, radius=radius, sigma=sigma)
    h, w = pose.image_size
    xy = pose.keypoints / np.float32([max(w - 1, 1), max(h - 1, 1)])  # (18, 2) in [0, 1]
    xy[~pose.visible] = -1
    return np.broadcast_to(xy.reshape(-1, 1, 1), (2 * NUM_JOINTS, h, w)).astype(np.float32)


def find_layout(root, split: str) -> tuple[Path, Path, Path]:
    """Locate (image folder, annotation CSV, pairs CSV) of `split` in a Pose-Transfer folder.

    Raises:
        DatasetError: a piece is missing or ambiguous; the message lists what was found.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist; give a Pose-Transfer folder "
                           "(see train/prepare_data.py) or leave --data unset for synthetic people")
    found = []
    for kind in ("annotation", "pairs"):
        files = sorted(root.glob(f"*{kind}-{split}.csv"))
        if len(files) != 1:
            listing = ", ".join(p.name for p in sorted(root.glob("*.csv"))) or "no CSV files"
            raise DatasetError(f"{root}: expected one '*-{kind}-{split}.csv', found {len(files)} ({listing})")
        found.append(files[0])
    images = root / split
    if not images.is_dir():
        raise DatasetError(f"{root}: image folder '{split}/' is missing")
    return images, found[0], found[1]


def read_pairs_csv(path, on_error: str = "raise") -> tuple[list[tuple[int, str, str]], list[str]]:
    """Read a pairs CSV (header `from,to`) into [(line, from, to)] and the messages of skipped rows.

    Args:
        path: the `*-pairs-*.csv` file.
        on_error: "raise" stops at the first malformed row (file and line in the message), "skip" drops it.
    """
    pairs, skipped = [], []
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row or (lineno == 1 and [c.strip() for c in row] == ["from", "to"]):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                message = f"{path}:{lineno}: expected 'FROM.jpg,TO.jpg', got {','.join(row)[:80]!r}"
                if on_error == "raise":
                    raise DatasetError(message)
                skipped.append(message)
                continue
            pairs.append((lineno, row[0].strip(), row[1].strip()))
    return pairs, skipped


def _line_of(path, name: str) -> int | None:
    """1-based line of `name` in an annotation CSV (only computed for error messages)."""
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            if line.split(":", 1)[0].strip() == name:
                return lineno
    return None


class PoseTransferDataset(Dataset):
    """Pairs (I_A, I_B) of one person with the target pose, in the model geometry.

    Every pair, image and pose is checked when the dataset is built: a malformed row, a pair naming
    an image that is missing from the folder or the annotation CSV, or a keypoint outside the image
    raises `DatasetError` / `PoseError` naming the file and line. With on_error="skip" those rows
    are dropped instead and listed in `self.skipped`.

    Items are dicts of tensors in [-1, 1] (M_B in {0, 1}):
        I_A, I_B (3, H, W); P_B (C, H, W) with C = 18 (36 for "coordinates"); M_B (1, H, W);
        kp_A, kp_B (18, 2) source and target keypoints (x, y) in the model geometry, -1 missing;
        plus the file names name_A, name_B and flip (bool).
    Index with `ds[i]` for the pair as stored, `ds[i, True]` for its mirror image (images, poses and
    masks flipped together, left and right joints swapped), which the training sampler picks at random,
    and `ds[i, flip, seed]` for a pair augmented by `augment` with a generator seeded by `seed`.

    Args:
        root: Pose-Transfer folder (see `find_layout`).
        split: "train" or "test".
        image_size: (H, W) model geometry; None keeps the stored size.
        pose_encoding: "disk", "gaussian" or "coordinates" (see `encode_pose`).
        pose_radius: disk radius of the pose maps and of the pose mask.
        pose_sigma: Gaussian sigma.
        background: RGB colour of the letterbox padding.
        on_error: "raise" or "skip".
        augment: pair-consistent augmentation applied to items indexed with a seed (None: never).
    """

    def __init__(
        self,
        root,
        split: str = "train",
        image_size: tuple[int, int] | None = None,
        pose_encoding: str = "disk",
        pose_radius: int = 4,
        pose_sigma: float = 6.0,
        background: tuple[int, int, int] = (255, 255, 255),
        on_error: str = "raise",
        augment: PairAugment | None = None,
    ):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        pose_channels(pose_encoding)  # validates
        self.root, self.split = Path(root), split
        self.pose_encoding, self.pose_radius, self.pose_sigma = pose_encoding, pose_radius, pose_sigma
        self.augment = augment
        self.image_dir, self.annotation_csv, self.pairs_csv = find_layout(root, split)
        self.skipped: list[str] = []

        pairs, skipped = read_pairs_csv(self.pairs_csv, on_error)
        self.skipped += skipped
        if not pairs:
            raise DatasetError(f"{self.pairs_csv} holds no pairs")
        files = {p.name for p in self.image_dir.iterdir()}
        first = next((a for _, a, _ in pairs if a in files), None)
        if first is None:
            raise DatasetError(f"none of the images named in {self.pairs_csv} is in {self.image_dir}")
        with Image.open(self.image_dir / first) as im:
            self.stored_size = (im.height, im.width)
        self.image_size = tuple(image_size) if image_size is not None else self.stored_size
        self.letterbox = Letterbox(self.stored_size, self.image_size, tuple(background))

        poses, bad_lines = read_annotation_csv(self.annotation_csv, self.stored_size, on_error, return_skipped=True)
        self.skipped += [f"{self.annotation_csv}:{n}: malformed row" for n in bad_lines]
        h, w = self.stored_size
        for name, pose in list(poses.items()):
            kp = pose.keypoints[pose.visible]
            if (kp[:, 0] > w - 1).any() or (kp[:, 1] > h - 1).any():
                message = (f"{self.annotation_csv}:{_line_of(self.annotation_csv, name)}: keypoints of {name} lie "
                           f"outside its {h}x{w} image (x up to {kp[:, 0].max():g}, y up to {kp[:, 1].max():g}); "
                           "is the CSV for another image size?")
                if on_error == "raise":
                    raise DatasetError(message)
                self.skipped.append(message)
                del poses[name]

        self.pairs: list[tuple[str, str]] = []
        for lineno, a, b in pairs:
            problem = next((f"image {n!r} is not in {self.image_dir}" for n in (a, b) if n not in files), None)
            problem = problem or next((f"image {n!r} has no usable row in {self.annotation_csv}"
                                       for n in (a, b) if n not in poses), None)
            if problem:
                if on_error == "raise":
                    raise DatasetError(f"{self.pairs_csv}:{lineno}: {problem}")
                self.skipped.append(f"{self.pairs_csv}:{lineno}: {problem}")
                continue
            self.pairs.append((a, b))
        if not self.pairs:
            raise DatasetError(f"{self.pairs_csv}: no usable pairs left ({len(self.skipped)} skipped)")
        self.poses = {n: poses[n] for pair in self.pairs for n in pair}

    def __len__(self) -> int:
        return len(self.pairs)

    def pose(self, name: str, flip: bool = False) -> Pose:
        """The pose of image `name` in the model geometry (mirrored when flip)."""
        pose = self.letterbox.pose(self.poses[name])
        return pose.hflip() if flip else pose

    def image(self, name: str, flip: bool = False) -> Image.Image:
        """Image `name` in the model geometry (mirrored when flip)."""
        path = self.image_dir / name
        try:
            with Image.open(path) as f:
                image = f.convert("RGB")
        except OSError as e:
            raise DatasetError(f"{path}: cannot read the image ({e})") from e
        if (image.height, image.width) != self.stored_size:
            raise DatasetError(f"{path} is {image.height}x{image.width}, but the images of {self.image_dir} "
                               f"are {self.stored_size[0]}x{self.stored_size[1]}; resize it with train/prepare_data.py")
        image = self.letterbox.image(image)
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image

    def __getitem__(self, index) -> dict:
        index, flip, seed = (tuple(index) + (False, None))[:3] if isinstance(index, tuple) else (index, False, None)
        name_A, name_B = self.pairs[index]
        pose_A, pose_B = self.pose(name_A, flip), self.pose(name_B, flip)
        image_A, image_B = self.image(name_A, flip), self.image(name_B, flip)
        if self.augment is not None and seed is not None:
            image_A, pose_A, image_B, pose_B = self.augment(np.random.default_rng(seed), image_A, pose_A, image_B, pose_B)
        encode = dict(encoding=self.pose_encoding, radius=self.pose_radius, sigma=self.pose_sigma)
        return {
            "I_A": to_tensor(image_A),  # (3, H, W)
            "I_B": to_tensor(image_B),  # (3, H, W)
            "P_B": torch.from_numpy(encode_pose(pose_B, **encode)),  # (C, H, W)
            "M_B": torch.from_numpy(pose_B.pose_mask(radius=self.pose_radius))[None],  # (1, H, W)
            "kp_A": torch.from_numpy(pose_A.to_array()),  # (18, 2)
            "kp_B": torch.from_numpy(pose_B.to_array()),  # (18, 2)
            "name_A": name_A,
            "name_B": name_B,
            "flip": bool(flip),
        }


class StepSampler:
    """Batch sampler for step-based training: for each step from `start_step`, this process's
    share of the global batch, as (pair index, flip) items for `PoseTransferDataset`.

    The sample stream is a function of (seed, position) only: epoch e is a permutation of all pairs
    with a random flip per sample, drawn from a generator seeded with (seed, e). Step s covers
    positions [s * B * world, (s + 1) * B * world), process `rank` the slice [rank * B, (rank + 1) * B)
    of it. So runs that resume at step s, or run on several processes, see the batches they would
    have seen without interruption.

    Args:
        num_pairs: dataset length.
        batch_size: samples per process per step.
        seed: random seed.
        flip: draw random horizontal flips (else never flip).
        rank, world_size: this process and the number of processes.
        start_step, max_steps: the steps to yield.
    """

    def __init__(self, num_pairs: int, batch_size: int, seed: int = 0, flip: bool = True,
                 rank: int = 0, world_size: int = 1, start_step: int = 0, max_steps: int = 1):
        self.num_pairs, self.batch_size, self.seed, self.flip = num_pairs, batch_size, seed, flip
        self.rank, self.world_size, self.start_step, self.max_steps = rank, world_size, start_step, max_steps
        self._epoch: tuple[int, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(self.max_steps - self.start_step, 0)

    def item(self, position: int) -> tuple[int, bool, list[int]]:
        """The (pair index, flip, augmentation seed) at a global sample position."""
        epoch, i = divmod(position, self.num_pairs)
        if self._epoch is None or self._epoch[0] != epoch:
            g = np.random.default_rng([self.seed, epoch])
            self._epoch = (epoch, g.permutation(self.num_pairs), g.random(self.num_pairs) < 0.5)
        _, order, flips = self._epoch
        return int(order[i]), bool(flips[i]) and self.flip, [self.seed, 1, position]

    def __iter__(self):
        for step in range(self.start_step, self.max_steps):
            first = (step * self.world_size + self.rank) * self.batch_size
            yield [self.item(p) for p in range(first, first + self.batch_size)]
