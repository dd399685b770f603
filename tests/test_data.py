"""The Pose-Transfer dataset (pg2_hub/data.py), its sampler and train/prepare_data.py."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from pg2_hub.data import DatasetError, PoseTransferDataset, StepSampler, encode_pose, find_layout
from pg2_hub.pose import FLIP_PERMUTATION, Pose, PoseError, read_annotation_csv, write_annotation_csv
from pg2_hub.synthetic import make_synthetic_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
import prepare_data  # noqa: E402


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    return make_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), image_size=(32, 16),
                                  people={"train": 2, "test": 1}, poses_per_person=2, seed=0)


@pytest.fixture
def broken(tmp_path, synthetic_root) -> Path:
    """A writable copy of the synthetic set, for corrupting."""
    return Path(shutil.copytree(synthetic_root, tmp_path / "copy"))


# ---- real data ----------------------------------------------------------------------------------


def test_market_items_in_model_geometry(shared_data):
    ds = PoseTransferDataset(shared_data / "market", "train")
    assert len(ds) == 688 and ds.stored_size == ds.image_size == (128, 64) and ds.skipped == []
    item = ds[5]
    assert item["I_A"].shape == item["I_B"].shape == (3, 128, 64)
    assert item["P_B"].shape == (18, 128, 64) and item["M_B"].shape == (1, 128, 64)
    assert torch.equal(item["kp_A"], torch.from_numpy(ds.poses[item["name_A"]].to_array()))
    assert item["I_A"].min() >= -1 and item["I_A"].max() <= 1
    assert set(item["M_B"].unique().tolist()) <= {0.0, 1.0}
    pose_B = ds.poses[item["name_B"]]
    assert torch.equal(item["P_B"], torch.from_numpy(pose_B.pose_maps("disk", radius=4)))
    assert torch.equal(item["M_B"][0], torch.from_numpy(pose_B.pose_mask(radius=4)))


def test_deepfashion_is_letterboxed_to_256x256(shared_data):
    ds = PoseTransferDataset(shared_data / "deepfashion", "test", image_size=(256, 256))
    assert ds.stored_size == (256, 176) and len(ds) == 78
    item = ds[0]
    assert item["I_A"].shape == (3, 256, 256) and item["P_B"].shape == (18, 256, 256)
    assert (item["I_A"][:, :, :40] == 1).all() and (item["I_A"][:, :, -40:] == 1).all(), "40 px white bands"
    stored = ds.poses[item["name_B"]]
    moved = ds.pose(item["name_B"])
    vis = stored.visible
    np.testing.assert_array_equal(moved.keypoints[vis], stored.keypoints[vis] + [40, 0])


def test_flip_mirrors_images_poses_and_masks_together(shared_data):
    ds = PoseTransferDataset(shared_data / "market", "test")
    plain, flipped = ds[3], ds[3, True]
    assert not plain["flip"] and flipped["flip"]
    for key in ("I_A", "I_B"):
        assert torch.equal(flipped[key], plain[key].flip(-1))
    # integer joints: a mirrored disk is the disk of the mirrored joint, in the swapped channel
    assert torch.equal(flipped["P_B"], plain["P_B"].flip(-1)[list(FLIP_PERMUTATION)])
    for key, name in (("kp_A", "name_A"), ("kp_B", "name_B")):
        assert torch.equal(flipped[key], torch.from_numpy(ds.pose(plain[name], flip=True).to_array()))
    overlap = (flipped["M_B"] * plain["M_B"].flip(-1)).sum() / plain["M_B"].sum()
    assert overlap > 0.9  # intermediate mask points are truncated with int(), as released: not exactly symmetric


def test_gaussian_and_coordinate_encodings(shared_data):
    ds = PoseTransferDataset(shared_data / "market", "test", pose_encoding="gaussian", pose_sigma=6.0)
    pose = ds.poses[ds.pairs[0][1]]
    assert torch.equal(ds[0]["P_B"], torch.from_numpy(pose.pose_maps("gaussian", sigma=6.0)))
    coords = encode_pose(Pose(np.array([[63, 127]] + [[-1, -1]] * 17), image_size=(128, 64)), "coordinates")
    assert coords.shape == (36, 128, 64)
    assert coords[0].min() == coords[0].max() == 1.0 and coords[1].max() == 1.0, "x / (W-1), y / (H-1)"
    assert (coords[2:] == -1).all(), "missing joints are -1"
    ds = PoseTransferDataset(shared_data / "market", "test", pose_encoding="coordinates")
    assert ds[0]["P_B"].shape == (36, 128, 64)
    with pytest.raises(ValueError, match="pose_encoding"):
        PoseTransferDataset(shared_data / "market", "test", pose_encoding="sticks")


# ---- malformed data -----------------------------------------------------------------------------


def test_missing_layout_pieces_are_named(tmp_path, broken):
    with pytest.raises(DatasetError, match="does not exist"):
        find_layout(tmp_path / "nowhere", "train")
    (broken / "synthetic-pairs-train.csv").rename(broken / "old-pairs.csv")
    with pytest.raises(DatasetError, match=r"expected one '\*-pairs-train.csv', found 0"):
        PoseTransferDataset(broken, "train")


def test_malformed_annotation_row_names_file_and_line(broken):
    csv = broken / "synthetic-annotation-train.csv"
    lines = csv.read_text().splitlines()
    lines[2] = lines[2].split(":")[0] + ": [1, 2, 3]: [4, 5]"
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(PoseError, match=r"synthetic-annotation-train.csv:3: expected 18"):
        PoseTransferDataset(broken, "train")
    ds = PoseTransferDataset(broken, "train", on_error="skip")
    assert len(ds) == 2, "the two pairs that use the broken image are dropped"
    assert any("annotation-train.csv:3" in s for s in ds.skipped) and len(ds.skipped) == 3


def test_malformed_pairs_row_and_missing_image(broken):
    pairs = broken / "synthetic-pairs-train.csv"
    lines = pairs.read_text().splitlines()
    pairs.write_text("\n".join(lines[:2] + ["only_one_name.png"] + lines[2:]) + "\n")
    with pytest.raises(DatasetError, match=r"synthetic-pairs-train.csv:3: expected 'FROM.jpg,TO.jpg'"):
        PoseTransferDataset(broken, "train")
    pairs.write_text("\n".join(lines) + "\n")
    missing = lines[3].split(",")[0]
    (broken / "train" / missing).unlink()
    with pytest.raises(DatasetError, match=rf"synthetic-pairs-train.csv:\d+: image '{missing}' is not in"):
        PoseTransferDataset(broken, "train")
    ds = PoseTransferDataset(broken, "train", on_error="skip")
    assert len(ds) == 2 and len(ds.skipped) == 2


def test_keypoint_outside_the_image_names_file_and_line(broken):
    csv = broken / "synthetic-annotation-train.csv"
    poses = read_annotation_csv(csv)
    name = list(poses)[1]
    kp = poses[name].to_array()
    kp[4] = [40, 10]  # x = 40 in a 16 px wide image
    poses[name] = Pose(kp)
    write_annotation_csv(csv, poses)
    with pytest.raises(DatasetError, match=rf"annotation-train.csv:3: keypoints of {name} lie outside its 32x16 image"):
        PoseTransferDataset(broken, "train")
    assert len(PoseTransferDataset(broken, "train", on_error="skip")) == 2


def test_image_of_the_wrong_size_is_named(broken):
    ds = PoseTransferDataset(broken, "train")
    Image.new("RGB", (20, 30)).save(broken / "train" / ds.pairs[0][0])
    with pytest.raises(DatasetError, match=r"is 30x20, but the images .* are 32x16"):
        ds[0]


# ---- the step sampler -----------------------------------------------------------------------------


def test_step_sampler_resumes_and_shards_exactly():
    full = list(StepSampler(10, 3, seed=1, max_steps=8))
    assert list(StepSampler(10, 3, seed=1, start_step=5, max_steps=8)) == full[5:]
    assert all(len(b) == 3 for b in full)
    indices = [i for b in full[:3] for i, _, _ in b]
    assert sorted(indices[:9]) == sorted(set(indices[:9])), "no repeats within an epoch"
    flips = [f for b in full for _, f, _ in b]
    assert 0 < sum(flips) < len(flips)
    assert not any(f for b in StepSampler(10, 3, seed=1, flip=False, max_steps=8) for _, f, _ in b)
    seeds = [tuple(s) for b in full for _, _, s in b]
    assert len(set(seeds)) == len(seeds), "every sample position has its own augmentation seed"
    # two processes with batch 3 split what one process with batch 6 sees
    one = list(StepSampler(10, 6, seed=1, max_steps=4))
    r0, r1 = (list(StepSampler(10, 3, seed=1, rank=r, world_size=2, max_steps=4)) for r in (0, 1))
    assert [a + b for a, b in zip(r0, r1)] == one


def test_augmented_items_follow_their_seed(synthetic_root):
    from pg2_hub.augment import PairAugment

    ds = PoseTransferDataset(synthetic_root, "train", augment=PairAugment(colour=1.0, max_zoom=1.3))
    a, b, c = ds[0, False, [0, 1, 5]], ds[0, False, [0, 1, 5]], ds[0, False, [0, 1, 6]]
    assert torch.equal(a["I_A"], b["I_A"]) and torch.equal(a["P_B"], b["P_B"])
    assert not torch.equal(a["I_B"], c["I_B"])
    plain = ds[0]
    assert torch.equal(plain["I_A"], PoseTransferDataset(synthetic_root, "train")[0]["I_A"])  # no seed, no augmentation


def test_loader_batches(synthetic_root):
    ds = PoseTransferDataset(synthetic_root, "train")
    loader = DataLoader(ds, batch_sampler=StepSampler(len(ds), 2, max_steps=3))
    batches = list(loader)
    assert len(batches) == 3 and batches[0]["P_B"].shape == (2, 18, 32, 16) and len(batches[0]["name_A"]) == 2


# ---- prepare_data.py ----------------------------------------------------------------------------------


def _raw_from(synthetic: Path, split: str):
    """(image path, pose) of the synthetic split, as stand-ins for raw downloads."""
    poses = read_annotation_csv(synthetic / f"synthetic-annotation-{split}.csv", image_size=(32, 16))
    return [(synthetic / split / n, p) for n, p in poses.items()]


def test_prepare_market_layout(tmp_path, capsys):
    src = make_synthetic_dataset(tmp_path / "src", image_size=(128, 64), people={"train": 2, "test": 1}, poses_per_person=3)
    raw, notes = tmp_path / "Market-1501", tmp_path / "notes"
    notes.mkdir()
    for split, folder in (("train", "bounding_box_train"), ("test", "bounding_box_test")):
        (raw / folder).mkdir(parents=True)
        poses = read_annotation_csv(src / f"synthetic-annotation-{split}.csv")
        official = {}
        for k, (name, pose) in enumerate(poses.items()):
            person = int(name.split("_")[2]) + 1
            file = f"{person:04d}_c{k % 6 + 1}s1_{k:06d}_00.jpg"
            Image.open(src / split / name).convert("RGB").save(raw / folder / file)
            if (split, k) != ("train", 1):  # one training image has no official keypoints
                official[file] = pose
        Image.new("RGB", (64, 128)).save(raw / folder / "-1_c1s1_000000_00.jpg")  # junk, left out
        write_annotation_csv(notes / f"market-annotation-{split}.csv", official)
    summary = prepare_data.main(["market", "--raw", str(raw), "--out", str(tmp_path / "out"), "--annotations", str(notes)])
    assert summary["train"] == {"images_found": 6, "images_written": 5, "pairs": 3 * 2 + 2 * 1, "no_keypoints": 1}
    assert "--openpose" in capsys.readouterr().out
    ds = PoseTransferDataset(tmp_path / "out", "train")
    assert len(ds) == 8 and all(a.split("_")[0] == b.split("_")[0] for a, b in ds.pairs)
    assert len(PoseTransferDataset(tmp_path / "out", "test")) == 6


def test_prepare_deepfashion_crops_256_to_176(tmp_path):
    src = make_synthetic_dataset(tmp_path / "src", image_size=(256, 176), people={"train": 1, "test": 1},
                                 poses_per_person=2, background="white")
    raw, notes = tmp_path / "In-shop", tmp_path / "notes"
    notes.mkdir()
    for split, item in (("train", "id_00000001"), ("test", "id_00000002")):
        names, official = [], {}
        poses = read_annotation_csv(src / f"synthetic-annotation-{split}.csv", image_size=(256, 176))
        for k, (name, pose) in enumerate(poses.items()):
            view = ("1_front", "2_side")[k]
            path = raw / "img" / "WOMEN" / "Dresses" / item / f"01_{view}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            square = Image.new("RGB", (256, 256), (255, 255, 255))
            square.paste(Image.open(src / split / name).convert("RGB"), (40, 0))  # In-shop images are 256x256
            square.save(path)
            out_name = prepare_data.deepfashion_name(path)
            names.append(out_name)
            official[out_name] = pose
        (notes / f"fashion-{split}.lst").write_text("\n".join(names) + "\n")
        write_annotation_csv(notes / f"fasion-resize-annotation-{split}.csv", official)
    assert names[0] == "fashionWOMENDressesid0000000201_1front.jpg"
    prepare_data.main(["deepfashion", "--raw", str(raw), "--out", str(tmp_path / "out"),
                       "--split-lists", str(notes), "--annotations", str(notes)])
    ds = PoseTransferDataset(tmp_path / "out", "train", image_size=(256, 256))
    assert ds.stored_size == (256, 176) and len(ds) == 2
    assert (tmp_path / "out" / "fasion-resize-pairs-test.csv").read_text().count("\n") == 3
