"""Pair augmentations keep pixels and keypoints together and treat both images of a pair alike."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pg2_hub.augment import PairAugment
from pg2_hub.pose import Pose


def marked_image(x: int, y: int, size=(32, 64)) -> Image.Image:
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[y, x] = (250, 10, 120)
    return Image.fromarray(a)


def pose_at(x: float, y: float, size=(64, 32)) -> Pose:
    kp = np.full((18, 2), -1.0)
    kp[0] = [x, y]
    return Pose.from_array(kp, image_size=size)


def test_zoom_moves_keypoints_with_pixels():
    aug = PairAugment(colour=0, brightness=0, contrast=0, max_zoom=1.5)
    rng = np.random.default_rng(3)
    for _ in range(10):
        image, pose = aug.zoom(rng, marked_image(16, 30).resize((320, 640), Image.Resampling.NEAREST),
                               pose_at(164.5, 304.5, size=(640, 320)))
        if not pose.visible[0]:
            continue
        a = np.asarray(image).astype(int)
        x, y = np.round(pose.keypoints[0]).astype(int)
        # the marked 10x10 block's colour sits under the moved keypoint
        assert abs(a[y, x, 0] - 250) < 40 and abs(a[y, x, 1] - 10) < 40, (x, y, a[y, x])


def test_colour_is_the_same_for_both_images_and_keeps_geometry():
    aug = PairAugment(colour=1.0, brightness=0, contrast=0, max_zoom=1.0)
    I_A, I_B = marked_image(5, 6), marked_image(20, 40)
    seen = set()
    for seed in range(12):
        A, pA, B, pB = aug(np.random.default_rng(seed), I_A, pose_at(5, 6), I_B, pose_at(20, 40))
        ca, cb = tuple(np.asarray(A)[6, 5]), tuple(np.asarray(B)[40, 20])
        assert ca == cb and sorted(ca) == [10, 120, 250]
        assert pA == pose_at(5, 6) and pB == pose_at(20, 40)
        seen.add(ca)
    assert len(seen) > 1  # the permutation really varies


def test_same_seed_same_result():
    aug = PairAugment()
    args = (marked_image(5, 6), pose_at(5, 6), marked_image(7, 8), pose_at(7, 8))
    a = aug(np.random.default_rng(7), *args)
    b = aug(np.random.default_rng(7), *args)
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0])) and a[1] == b[1] and a[3] == b[3]
