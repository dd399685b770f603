"""Synthetic people (pg2_hub/synthetic.py): poses, drawing and the Pose-Transfer files they are written to."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pg2_hub.data import PoseTransferDataset
from pg2_hub.pose import read_annotation_csv
from pg2_hub.synthetic import Appearance, background_image, load_pose_source, make_synthetic_dataset, render_person, sample_pose


def test_kinematic_poses_are_plausible():
    rng = np.random.default_rng(0)
    poses = [sample_pose(rng, (128, 64))[0] for _ in range(200)]
    for pose in poses:
        assert pose.image_size == (128, 64)
        kp = pose.keypoints[pose.visible]
        assert (kp[:, 0] <= 63).all() and (kp[:, 1] <= 127).all() and (kp >= 0).all()
        assert pose.visible[[1, 2, 5, 8, 11]].all(), "neck, shoulders and hips are always in view"
        assert pose.keypoints[1, 1] < pose.keypoints[8, 1], "neck above the hips"
    nose = np.array([p.visible[0] for p in poses])
    assert 0.1 < (~nose).mean() < 0.6, "back views (no nose) occur, but not mostly"
    # front views (both eyes seen): the person's right shoulder is on the image's left
    front = [p for p in poses if p.visible[[0, 14, 15]].all()]
    assert np.mean([p.keypoints[2, 0] < p.keypoints[5, 0] for p in front]) > 0.9


def test_render_person_draws_a_figure_over_the_background():
    rng = np.random.default_rng(1)
    pose, depth = sample_pose(rng, (128, 64))
    look = Appearance.sample(rng)
    image = render_person(pose, look, None, depth)
    assert image.size == (64, 128) and image.mode == "RGB"
    a = np.asarray(image)
    neck = pose.keypoints[1].astype(int)
    assert (a[neck[1], neck[0]] != 255).any(), "the body covers the neck joint"
    assert (a[0:3, 0:3] == 255).all(), "the corner stays background"
    assert np.array_equal(a, np.asarray(render_person(pose, look, None, depth))), "drawing is deterministic"
    scene = background_image(rng, (128, 64), "scene")
    assert np.asarray(scene).std() > 5
    with pytest.raises(ValueError, match="background"):
        background_image(rng, (128, 64), "beach")


def test_dataset_layout_pairs_and_reuse(tmp_path):
    root = make_synthetic_dataset(tmp_path / "s", image_size=(32, 16), people={"train": 3, "test": 2},
                                  poses_per_person=3, seed=5)
    for split, people in (("train", 3), ("test", 2)):
        assert len(list((root / split).glob("*.png"))) == people * 3
        poses = read_annotation_csv(root / f"synthetic-annotation-{split}.csv", image_size=(32, 16))
        assert len(poses) == people * 3
        rows = (root / f"synthetic-pairs-{split}.csv").read_text().splitlines()
        assert rows[0] == "from,to" and len(rows) - 1 == people * 3 * 2
        for row in rows[1:]:
            a, b = row.split(",")
            assert a != b and a.rsplit("_", 1)[0] == b.rsplit("_", 1)[0], "pairs join one person's images"
    with Image.open(next((root / "train").glob("*.png"))) as im:
        assert im.size == (16, 32)
    # same arguments: files reused; same seed elsewhere: same bytes
    stamp = (root / "synthetic-pairs-train.csv").stat().st_mtime_ns
    make_synthetic_dataset(root, image_size=(32, 16), people={"train": 3, "test": 2}, poses_per_person=3, seed=5)
    assert (root / "synthetic-pairs-train.csv").stat().st_mtime_ns == stamp
    other = make_synthetic_dataset(tmp_path / "t", image_size=(32, 16), people={"train": 3, "test": 2},
                                   poses_per_person=3, seed=5)
    name = "synthetic_train_00001_2.png"
    assert (root / "train" / name).read_bytes() == (other / "train" / name).read_bytes()
    ds = PoseTransferDataset(root, "test")
    assert len(ds) == 2 * 3 * 2 and ds[0]["I_A"].shape == (3, 32, 16)


def test_poses_from_a_real_annotation_file(tmp_path, shared_data):
    csv = shared_data / "market" / "market-annotation-train.csv"
    source = load_pose_source(csv, (128, 64))
    assert len(source) > 200 and all(p.num_visible >= 8 for p in source)
    root = make_synthetic_dataset(tmp_path / "s", image_size=(128, 64), people={"train": 2}, poses_per_person=2,
                                  pose_source=str(csv), seed=0)
    written = read_annotation_csv(root / "synthetic-annotation-train.csv")
    known = {p.keypoints.tobytes() for p in source}
    assert all(p.keypoints.tobytes() in known for p in written.values()), "poses are copied from the CSV"
    # DeepFashion poses (256x176) fitted into a 256x256 frame move 40 px right
    fashion = load_pose_source(shared_data / "deepfashion" / "fasion-resize-annotation-train.csv", (256, 256))
    assert fashion[0].image_size == (256, 256) and fashion[0].keypoints[fashion[0].visible, 0].min() >= 40
    with pytest.raises(ValueError, match="source_size"):
        load_pose_source(tmp_path / "poses.csv", (128, 64))
