"""Training-pair augmentations that the generator can still predict from its inputs.

With a few hundred training images, G1 memorises people instead of learning to move them. These
augmentations multiply the data without making the target unpredictable:

- colour: one random channel permutation and brightness/contrast change applied to BOTH images of
  a pair, so the output colours must be copied from the condition image, not remembered;
- zoom: each image of the pair is independently cropped to a random window of 1/zoom of its size
  (zoom in [1, max_zoom]) and scaled back up, keypoints moved with the pixels. Zooming in never
  invents border pixels, so nothing about I_B is hidden from the model: its framing is fully
  described by the target pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .pose import Pose

PERMUTATIONS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


@dataclass(frozen=True)
class PairAugment:
    """Random, pair-consistent augmentation of (I_A, pose_A, I_B, pose_B); see the module docstring.

    Args:
        colour: probability of permuting the colour channels of both images (same permutation).
        brightness: maximum relative brightness change (same for both images).
        contrast: maximum relative contrast change (same for both images).
        max_zoom: largest zoom factor (1 disables zooming).
    """

    colour: float = 0.5
    brightness: float = 0.1
    contrast: float = 0.1
    max_zoom: float = 1.15

    def __call__(self, rng: np.random.Generator, I_A: Image.Image, pose_A: Pose, I_B: Image.Image, pose_B: Pose):
        """Return augmented (I_A, pose_A, I_B, pose_B); images RGB, poses in the same frames."""
        I_A, pose_A = self.zoom(rng, I_A, pose_A)
        I_B, pose_B = self.zoom(rng, I_B, pose_B)
        perm = PERMUTATIONS[rng.integers(len(PERMUTATIONS))] if rng.random() < self.colour else PERMUTATIONS[0]
        gain = 1 + rng.uniform(-self.brightness, self.brightness)
        contrast = 1 + rng.uniform(-self.contrast, self.contrast)
        return self.recolour(I_A, perm, gain, contrast), pose_A, self.recolour(I_B, perm, gain, contrast), pose_B

    def zoom(self, rng: np.random.Generator, image: Image.Image, pose: Pose) -> tuple[Image.Image, Pose]:
        """Crop a random window of 1/zoom of the image and scale it back to the full size."""
        z = rng.uniform(1.0, self.max_zoom)
        if z <= 1.0 + 1e-6:
            return image, pose
        w, h = image.size
        cw, ch = max(1, round(w / z)), max(1, round(h / z))
        left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        image = image.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BICUBIC)
        return image, pose.crop(top, left, ch, cw).resize((h, w))

    @staticmethod
    def recolour(image: Image.Image, perm: tuple[int, int, int], gain: float, contrast: float) -> Image.Image:
        a = np.asarray(image, dtype=np.float32)[..., list(perm)]
        mean = a.mean()
        a = (a - mean) * contrast + mean * gain
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
