"""Tests for pg2_hub.pose: golden values worked out by hand, plus checks against real annotations."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from pg2_hub.pose import (
    BODY25_TO_COCO18, FLIP_PERMUTATION, JOINT_NAMES, LIMBS, MASK_CONNECTIONS, NUM_JOINTS,
    OPENPOSE_COLORS, Pose, PoseError, read_annotation_csv, write_annotation_csv,
)

SHARED_DATA = Path(os.environ.get("PG2_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
MARKET_CSV = SHARED_DATA / "market" / "market-annotation-train.csv"
FASHION_CSV = SHARED_DATA / "deepfashion" / "fasion-resize-annotation-train.csv"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set PG2_SHARED_DATA to the shared data folder)")
    return path


def pose_with(joints: dict, image_size=(64, 64), scores=None) -> Pose:
    """Pose with only the given {joint index: (x, y)} present."""
    kp = -np.ones((NUM_JOINTS, 2))
    for k, xy in joints.items():
        kp[k] = xy
    return Pose(kp, image_size=image_size, scores=scores)


# ---- constants ----

def test_constants():
    assert NUM_JOINTS == len(JOINT_NAMES) == len(OPENPOSE_COLORS) == len(BODY25_TO_COCO18) == 18
    assert len(LIMBS) == 17 and len(MASK_CONNECTIONS) == 23 and MASK_CONNECTIONS[:17] == LIMBS
    assert LIMBS[0] == (1, 2) and LIMBS[-1] == (15, 17)  # [2,3] and [16,18] 1-based
    assert MASK_CONNECTIONS[17:] == ((1, 16), (1, 17), (8, 11), (11, 5), (8, 2), (16, 17))
    assert sorted(FLIP_PERMUTATION) == list(range(18))
    assert all(FLIP_PERMUTATION[FLIP_PERMUTATION[k]] == k for k in range(18))  # an involution
    for k, name in enumerate(JOINT_NAMES):  # flip maps r_* <-> l_*
        assert JOINT_NAMES[FLIP_PERMUTATION[k]] == name.replace("r_", "#").replace("l_", "r_").replace("#", "l_")
    assert BODY25_TO_COCO18[11] == 12 and BODY25_TO_COCO18[8] == 9 and 8 not in BODY25_TO_COCO18


# ---- construction and validation ----

def test_missing_convention_and_immutability():
    kp = np.zeros((18, 2))
    kp[3] = (-1, 5)  # one negative coordinate -> whole joint missing
    pose = Pose(kp, image_size=(10, 10))
    assert pose.keypoints.dtype == np.float32
    assert tuple(pose.keypoints[3]) == (-1, -1) and not pose.visible[3] and pose.num_visible == 17
    with pytest.raises(ValueError):
        pose.keypoints[0, 0] = 3
    copy = pose.to_array()
    copy[0] = 7
    assert pose.keypoints[0, 0] == 0
    assert kp[3, 1] == 5  # input not modified


def test_from_array_shapes_and_scores():
    kp = np.arange(36, dtype=float).reshape(18, 2)
    assert Pose.from_array(kp) == Pose.from_array(kp.ravel().tolist())
    with_score = np.concatenate([kp, np.ones((18, 1))], axis=1)
    with_score[4, 2] = 0  # score 0 -> missing
    pose = Pose.from_array(with_score.ravel(), image_size=(64, 64))
    assert not pose.visible[4] and pose.scores[4] == 0 and pose.scores[0] == 1
    assert pose == Pose(kp, image_size=(64, 64), scores=np.where(np.arange(18) == 4, 0, 1))
    with pytest.raises(PoseError, match="only one"):
        Pose.from_array(with_score, scores=np.ones(18))


@pytest.mark.parametrize("bad, words", [
    (np.zeros((17, 2)), "expected 18 COCO keypoints"),
    (np.zeros((18, 4)), "got shape (18, 4)"),
    ([1, 2, 3], "(18, 2)"),
    ([["a", "b"]] * 18, "must be numbers"),
])
def test_from_array_rejects(bad, words):
    with pytest.raises(PoseError, match=None) as info:
        Pose.from_array(bad)
    assert words in str(info.value)


def test_constructor_rejects():
    with pytest.raises(PoseError, match="NaN"):
        Pose(np.full((18, 2), np.nan))
    with pytest.raises(PoseError, match=r"\(18, 2\)"):
        Pose(np.zeros((18, 3)))
    with pytest.raises(PoseError, match="image_size"):
        Pose(np.zeros((18, 2)), image_size=(0, 64))
    with pytest.raises(PoseError, match="image_size"):
        Pose(np.zeros((18, 2)), image_size=(128.5, 64))
    with pytest.raises(PoseError, match="scores"):
        Pose(np.zeros((18, 2)), scores=np.ones(17))


def test_eq_hash_repr():
    a = pose_with({0: (1, 2)}, scores=np.ones(18))
    b = pose_with({0: (1, 2)}, scores=np.ones(18))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != pose_with({0: (1, 2)}) and a != pose_with({0: (1, 3)}, scores=np.ones(18))
    assert a != pose_with({0: (1, 2)}, image_size=(32, 64), scores=np.ones(18))
    assert "visible=1/18" in repr(a) and "l_ear" in repr(a) and "(64, 64)" in repr(a)


# ---- Pose-Transfer CSV ----

def test_csv_row_round_trip_real():
    line = need(MARKET_CSV).read_text().splitlines()[1]
    name, pose = Pose.from_csv_row(line, image_size=(128, 64))
    assert name.endswith(".jpg") and pose.image_size == (128, 64)
    assert pose.to_csv_row(name) == line
    # the row's first y value is the nose row, the first x value its column
    ys = json.loads(line.split(":")[1])
    xs = json.loads(line.split(":")[2])
    assert tuple(pose.keypoints[0]) == (xs[0], ys[0])


def csv_list(values) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def test_csv_row_by_hand():
    name, pose = Pose.from_csv_row("a.jpg:" + csv_list([5] * 17 + [-1]) + ":" + csv_list([7] * 18))  # no spaces
    assert name == "a.jpg" and tuple(pose.keypoints[0]) == (7, 5) and not pose.visible[17]
    assert pose.to_csv_row("a.jpg") == "a.jpg: " + csv_list([5] * 17 + [-1]) + ": " + csv_list([7] * 17 + [-1])
    moved = Pose(pose.keypoints + np.float32([0.4, 0.6]))
    assert moved.to_csv_row("a.jpg").startswith("a.jpg: [6, 6")  # 5.6 rounds to 6


ONES = csv_list([1] * 18)


@pytest.mark.parametrize("row, words", [
    (f"a.jpg: {csv_list([1] * 9)}: {ONES}", "expected 18 y values, got 9"),
    (f"a.jpg: {ONES}: {csv_list([1] * 17 + ['x'])}", "non-numeric value 'x' in the x list"),
    (f"a.jpg: {ONES}", "expected 3 ':'-separated fields"),
    ("a.jpg: 1, 2: [1]", "bracketed list"),
    (f": {ONES}: {ONES}", "name field is empty"),
])
def test_csv_row_rejects(row, words):
    with pytest.raises(PoseError) as info:
        Pose.from_csv_row(row)
    assert words in str(info.value)


def test_read_write_annotation_csv(tmp_path):
    good = "a.jpg: [" + ", ".join(["3"] * 18) + "]: [" + ", ".join(["4"] * 18) + "]"
    bad = "b.jpg: [1, 2]: [" + ", ".join(["4"] * 18) + "]"
    path = tmp_path / "ann.csv"
    path.write_text("\n".join(["name:keypoints_y:keypoints_x", good, bad, good.replace("a.jpg", "c.jpg")]) + "\n")
    with pytest.raises(PoseError) as info:
        read_annotation_csv(path)
    assert f"{path}:3:" in str(info.value) and "expected 18 y values" in str(info.value)
    poses, skipped = read_annotation_csv(path, image_size=(8, 8), on_error="skip", return_skipped=True)
    assert list(poses) == ["a.jpg", "c.jpg"] and skipped == [3] and poses["a.jpg"].image_size == (8, 8)
    with pytest.warns(UserWarning, match="skipped 1 bad rows"):
        assert len(read_annotation_csv(path, on_error="skip")) == 2
    with pytest.raises(PoseError, match="on_error"):
        read_annotation_csv(path, on_error="ignore")

    out = tmp_path / "out.csv"
    write_annotation_csv(out, poses)
    assert out.read_text().splitlines() == ["name:keypoints_y:keypoints_x", good, good.replace("a.jpg", "c.jpg")]
    assert read_annotation_csv(out, image_size=(8, 8)) == poses
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.csv", "out.csv"]  # no temp file left


def test_read_annotation_csv_real(tmp_path):
    poses = read_annotation_csv(need(MARKET_CSV), image_size=(128, 64))
    assert len(poses) == len(MARKET_CSV.read_text().splitlines()) - 1
    out = tmp_path / "copy.csv"
    write_annotation_csv(out, poses)
    assert out.read_text() == MARKET_CSV.read_text()


# ---- OpenPose JSON ----

def test_openpose_coco18_and_body25():
    flat = [0.0] * 54
    flat[0:3] = [10, 20, 0.9]           # nose
    flat[11 * 3:11 * 3 + 3] = [33, 44, 0.8]  # l_hip
    pose = Pose.from_openpose_json({"people": [{"pose_keypoints_2d": flat}]}, image_size=(64, 64))
    assert tuple(pose.keypoints[0]) == (10, 20) and tuple(pose.keypoints[11]) == (33, 44)
    assert pose.num_visible == 2 and pose.scores[0] == pytest.approx(0.9)

    flat25 = [0.0] * 75
    flat25[12 * 3:12 * 3 + 3] = [33, 44, 0.8]  # BODY_25 12 = LHip -> COCO 11
    flat25[8 * 3:8 * 3 + 3] = [30, 40, 0.9]    # BODY_25 8 = MidHip, not in COCO-18
    flat25[9 * 3:9 * 3 + 3] = [20, 41, 0.7]    # BODY_25 9 = RHip -> COCO 8
    flat25[22 * 3:22 * 3 + 3] = [5, 60, 0.9]   # a foot point, dropped
    pose = Pose.from_openpose_json(json.dumps({"people": [{"pose_keypoints_2d": flat25}]}))
    assert tuple(pose.keypoints[11]) == (33, 44) and tuple(pose.keypoints[8]) == (20, 41)
    assert pose.num_visible == 2 and pose.image_size is None


def test_openpose_picks_most_confident_person(tmp_path):
    weak, strong = [0.0] * 54, [0.0] * 54
    weak[0:6] = [1, 1, 0.5, 2, 2, 0.5]
    strong[0:3] = [5, 6, 0.9]
    path = tmp_path / "kp.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": weak}, {"pose_keypoints_2d": strong}]}))
    pose = Pose.from_openpose_json(path)  # totals: 0.5 + 0.5 = 1.0 beats 0.9
    assert tuple(pose.keypoints[0]) == (1, 1)
    strong[3:6] = [7, 8, 0.2]  # now 1.1 beats 1.0
    pose = Pose.from_openpose_json({"people": [{"pose_keypoints_2d": weak}, {"pose_keypoints_2d": strong}]})
    assert tuple(pose.keypoints[0]) == (5, 6)


def test_openpose_normalised_with_canvas():
    flat = [0.0] * 54
    flat[0:3] = [0.5, 0.25, 1.0]
    flat[3:6] = [1.0, 1.0, 1.0]
    data = {"people": [{"pose_keypoints_2d": flat}], "canvas_width": 64, "canvas_height": 128}
    pose = Pose.from_openpose_json(data)
    assert pose.image_size == (128, 64)
    assert tuple(pose.keypoints[0]) == (32, 32) and tuple(pose.keypoints[1]) == (64, 128)
    with pytest.raises(PoseError, match="normalised"):
        Pose.from_openpose_json({"people": [{"pose_keypoints_2d": flat}]})
    no_canvas = Pose.from_openpose_json({"people": [{"pose_keypoints_2d": flat}]}, image_size=(256, 176))
    assert tuple(no_canvas.keypoints[0]) == (88, 64) and no_canvas.image_size == (256, 176)


def test_openpose_errors_and_round_trip():
    for data in ({"people": []}, {}, {"people": [{"pose_keypoints_2d": []}]}):
        with pytest.raises(PoseError, match="no person in the OpenPose JSON"):
            Pose.from_openpose_json(data)
    with pytest.raises(PoseError, match="54 .* or 75"):
        Pose.from_openpose_json({"people": [{"pose_keypoints_2d": [1.0] * 51}]})
    with pytest.raises(PoseError, match="neither a JSON object nor an existing file"):
        Pose.from_openpose_json("no/such/file.json")
    # the JSON's own canvas is the frame; image_size is only the fallback when it has none
    pixel = {"people": [{"pose_keypoints_2d": [10.0, 20.0, 1.0] + [0.0] * 51}], "canvas_width": 64,
             "canvas_height": 128}
    assert Pose.from_openpose_json(pixel, image_size=(256, 176)).image_size == (128, 64)
    del pixel["canvas_width"], pixel["canvas_height"]
    assert Pose.from_openpose_json(pixel, image_size=(256, 176)).image_size == (256, 176)

    pose = pose_with({0: (10, 20), 5: (30.5, 40)}, image_size=(128, 64))
    data = pose.to_openpose_json()
    assert data["canvas_width"] == 64 and data["canvas_height"] == 128
    assert data["people"][0]["pose_keypoints_2d"][:6] == [10.0, 20.0, 1.0, 0.0, 0.0, 0.0]
    back = Pose.from_openpose_json(json.loads(json.dumps(data)))
    assert np.array_equal(back.keypoints, pose.keypoints) and back.image_size == pose.image_size


# ---- geometry ----

def test_resize_pixel_centres():
    pose = pose_with({0: (0, 0), 1: (10, 127), 2: (63, 64)}, image_size=(128, 64))
    up = pose.resize((256, 128))
    # x' = (x + 0.5) * 2 - 0.5: 0 -> 0.5, 10 -> 20.5, 63 -> 126.5; y: 127 -> 254.5, 64 -> 128.5
    assert up.image_size == (256, 128)
    assert up.keypoints[[0, 1, 2]].tolist() == [[0.5, 0.5], [20.5, 254.5], [126.5, 128.5]]
    assert up.keypoints[3].tolist() == [-1, -1]
    down = pose_with({0: (0, 0), 1: (63, 127), 2: (10, 20)}, image_size=(128, 64)).resize((64, 32))
    # x' = (x + 0.5) / 2 - 0.5: 0 -> -0.25 clamped to 0; 63 -> 31.25 clamped to 31; 10 -> 4.75
    assert down.keypoints[[0, 1, 2]].tolist() == [[0, 0], [31, 63], [4.75, 9.75]]
    with pytest.raises(PoseError, match="image_size"):
        Pose(np.zeros((18, 2))).resize((10, 10))


def test_pad_crop_round_trip_176_256():
    pose = pose_with({0: (0, 5), 2: (175, 255), 7: (88.5, 100)}, image_size=(256, 176))
    padded = pose.pad(0, 0, 40, 40)
    assert padded.image_size == (256, 256)
    assert padded.keypoints[[0, 2, 7]].tolist() == [[40, 5], [215, 255], [128.5, 100]]
    assert padded.crop(0, 40, 256, 176) == pose
    assert pose.pad(0, 0, -40, -40).image_size == (256, 96)
    with pytest.raises(PoseError, match="left must be an int"):
        pose.pad(0, 0, 40.5, 40)
    with pytest.raises(PoseError, match="empty"):
        pose.pad(0, 0, -88, -88)


def test_crop_drops_outside_joints():
    pose = pose_with({0: (5, 5), 1: (30, 30), 2: (50, 12)}, image_size=(64, 64), scores=np.ones(18))
    cropped = pose.crop(10, 10, 30, 30)  # window x, y in [10, 39]
    assert cropped.image_size == (30, 30)
    assert cropped.keypoints[1].tolist() == [20, 20]
    assert not cropped.visible[0] and not cropped.visible[2] and cropped.scores[0] == 0


def test_hflip():
    pose = pose_with({2: (10, 30), 5: (100, 31), 0: (87.5, 5)}, image_size=(256, 176), scores=np.arange(18) + 1.0)
    flipped = pose.hflip()
    # W = 176: x' = 175 - x; r_shoulder (2) x=10 becomes l_shoulder (5) x=165
    assert flipped.keypoints[5].tolist() == [165, 30] and flipped.keypoints[2].tolist() == [75, 31]
    assert flipped.keypoints[0].tolist() == [87.5, 5]  # the centre line stays put
    assert flipped.scores[5] == 3 and flipped.scores[2] == 6
    assert flipped.num_visible == 3 and flipped.hflip() == pose


def test_interpolate():
    a = pose_with({0: (0, 0), 1: (10, 20), 2: (5, 5)})
    b = pose_with({0: (10, 20), 1: (30, 40)})
    mid = a.interpolate(b, 0.25)
    assert mid.keypoints[0].tolist() == [2.5, 5] and mid.keypoints[1].tolist() == [15, 25]
    assert not mid.visible[2]  # present in only one pose
    assert a.interpolate(b, 0).keypoints[1].tolist() == [10, 20]
    with pytest.raises(PoseError, match="image sizes differ"):
        a.interpolate(pose_with({0: (1, 1)}, image_size=(32, 32)), 0.5)
    with pytest.raises(PoseError, match=r"\[0, 1\]"):
        a.interpolate(b, 1.5)


# ---- encodings ----

def test_disk_maps_interior_golden():
    pose = pose_with({3: (20, 30)})  # x=20 (column), y=30 (row)
    maps = pose.disk_maps()
    assert maps.shape == (18, 64, 64) and maps.dtype == np.float32
    disk = maps[3]
    # |i| = 0: 9 columns; 1: 7 (j^2 <= 15); 2: 7 (j^2 <= 12); 3: 5 (j^2 <= 7); 4: 1 -> 9 + 2*(7+7+5+1) = 49
    assert disk.sum() == 49 and set(np.unique(maps)) == {0.0, 1.0}
    r, c = 30, 20
    assert disk[r + 4, c] == 1 and disk[r, c - 4] == 1 and disk[r + 2, c + 3] == 1  # 4+9 = 13 <= 16
    assert disk[r + 3, c + 3] == 0 and disk[r + 4, c + 1] == 0 and disk[r + 5, c] == 0  # 18, 17 > 16
    assert maps[np.arange(18) != 3].sum() == 0  # missing joints -> zero channels


def test_disk_maps_corner_and_truncation():
    corner = pose_with({0: (0, 0)}).disk_maps()[0]
    # i, j >= 0 with i^2 + j^2 <= 16: i=0: j=0..4 (5); i=1: j=0..3 (4); i=2: j=0..3 (4, 4+9=13);
    # i=3: j=0..2 (3, 9+4=13, 9+9=18 out); i=4: j=0 (1)  ->  5 + 4 + 4 + 3 + 1 = 17
    assert corner.sum() == 17
    # centres are truncated with int() like the released code: (20.9, 30.7) -> column 20, row 30
    assert np.array_equal(pose_with({3: (20.9, 30.7)}).disk_maps(), pose_with({3: (20, 30)}).disk_maps())
    # a joint just outside a 64-wide frame still paints its overlap: centre column 66 reaches
    # columns 62 (j=-4: i=0, 1 pixel) and 63 (j=-3: i^2 <= 7, |i| <= 2, 5 pixels) -> 6
    assert pose_with({1: (66, 30)}).disk_maps()[1].sum() == 6


def test_pose_maps_scaling_and_size():
    pose = pose_with({0: (5, 6), 7: (40, 50)}, image_size=None)
    disk = pose.disk_maps(size=(64, 48))
    assert np.array_equal(pose.pose_maps(size=(64, 48)), 2 * disk - 1)
    gauss = pose.pose_maps(kind="gaussian", size=(64, 48))
    assert gauss.min() >= -1 and gauss.max() == 1 and np.all(gauss[1] == -1)
    with pytest.raises(PoseError, match="size=\\(height, width\\)"):
        pose.disk_maps()
    with pytest.raises(PoseError, match="differs from the pose's image_size"):
        pose_with({0: (5, 6)}).disk_maps(size=(32, 32))
    with pytest.raises(PoseError, match="kind"):
        pose.pose_maps(kind="heatmap", size=(8, 8))
    with pytest.raises(PoseError, match="radius"):
        pose.disk_maps(radius=0, size=(8, 8))


def test_gaussian_maps_golden():
    maps = pose_with({2: (20, 30)}).gaussian_maps(sigma=6.0)
    g = maps[2]
    assert g[30, 20] == 1
    assert g[30, 26] == pytest.approx(math.exp(-0.5), rel=1e-6)
    assert g[24, 20] == pytest.approx(math.exp(-0.5), rel=1e-6)
    assert g[36, 26] == pytest.approx(math.exp(-1.0), rel=1e-6)
    assert maps[0].max() == 0
    # at the exact float position: a joint at x = 20.5 gives equal values at columns 20 and 21
    h = pose_with({2: (20.5, 30)}).gaussian_maps()[2]
    assert h[30, 20] == h[30, 21] == pytest.approx(math.exp(-0.25 / 72), rel=1e-6)


def test_pose_mask_toy_segment():
    # neck (1) -> r_shoulder (2) along row 20 from column 10 to 30: length 20, n = int(20 / 4) = 5,
    # so disks at columns 10, 14, 18, 22, 26, 30
    mask = pose_with({1: (10, 20), 2: (30, 20)}, image_size=(40, 50)).pose_mask()
    assert mask.shape == (40, 50) and set(np.unique(mask)) == {0.0, 1.0}
    assert mask[20, 6:35].all() and mask[20, 5] == 0 and mask[20, 35] == 0  # disks reach 10-4 .. 30+4
    # column 20 lies 2 px from centres 18 and 22, so the disks alone cover rows 17..23 (i^2 <= 12);
    # rows 16 and 24 there are notches that the 5x5 closing fills: every 5x5 square holding (16, 20)
    # contains (16, 18) or (16, 22). Row 15 stays empty: a 5x5 square of rows 11..15 misses the set.
    assert mask[16:25, 20].all() and mask[15, 20] == 0 and mask[25, 20] == 0
    assert mask.sum() == mask[16:25].sum()  # nothing outside the band


def test_pose_mask_closing_fills_gap_between_legs():
    # r_knee-r_ankle down column 10 and l_knee-l_ankle down column 20 (no mask connection between
    # them): disks cover columns 6..14 and 16..24, leaving column 15 empty (its nearest centres are
    # >= 5 px away). The closing fills it: every 5x5 square holding (20, 15) reaches column 13 or 17.
    legs = pose_with({9: (10, 10), 10: (10, 30), 12: (20, 10), 13: (20, 30)}, image_size=(40, 40))
    mask = legs.pose_mask()
    assert mask[14:27, 15].all()
    assert legs.disk_maps().max(axis=0)[20, 15] == 0
    assert pose_with({9: (10, 10)}).pose_mask().sum() == 0  # no connection with both ends -> empty


def _released_pose_mask(keypoints, height, width, radius=4):
    """Straight transcription of the released `_getPoseMask` + `_getSparseKeypoint` (pixel loops)."""
    from skimage.morphology import dilation, erosion
    try:
        from skimage.morphology import footprint_rectangle
        square5 = footprint_rectangle((5, 5))
    except ImportError:
        from skimage.morphology import square
        square5 = square(5)
    dense = np.zeros((height, width))

    def sparse_keypoint(r, c):
        r, c = int(r), int(c)
        for i in range(-radius, radius + 1):
            for j in range(-radius, radius + 1):
                if 0 <= r + i < height and 0 <= c + j < width and np.sqrt(float(i ** 2 + j ** 2)) <= radius:
                    dense[r + i, c + j] = 1

    limb_seq = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13],
                [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [2, 17], [2, 18], [9, 12], [12, 6],
                [9, 3], [17, 18]]
    for a, b in limb_seq:
        (c0, r0), (c1, r1) = keypoints[a - 1], keypoints[b - 1]
        if min(c0, r0, c1, r1) < 0:
            continue
        sparse_keypoint(r0, c0)
        sparse_keypoint(r1, c1)
        sample_n = int(np.sqrt((r0 - r1) ** 2 + (c0 - c1) ** 2) / radius)
        for i in range(1, sample_n) if sample_n > 1 else []:
            sparse_keypoint(r0 + (r1 - r0) * i / sample_n, c0 + (c1 - c0) * i / sample_n)
    return erosion(dilation(dense, square5), square5)


@pytest.mark.parametrize("csv, size", [(MARKET_CSV, (128, 64)), (FASHION_CSV, (256, 176))])
def test_pose_mask_matches_released_code_on_real_poses(csv, size):
    poses = list(read_annotation_csv(need(csv), image_size=size).values())[:3]
    for pose in poses:
        ours = pose.pose_mask()
        reference = _released_pose_mask(pose.keypoints.tolist(), *size)
        assert np.array_equal(ours, reference)
        assert ours.sum() > 100


def test_disk_maps_match_released_code_on_real_pose():
    pose = next(iter(read_annotation_csv(need(MARKET_CSV), image_size=(128, 64)).values()))
    maps = pose.disk_maps()
    for k in range(18):
        x, y = pose.keypoints[k]
        expected = np.zeros((128, 64))
        if x >= 0:
            r, c = int(y), int(x)
            for i in range(-4, 5):
                for j in range(-4, 5):
                    if 0 <= r + i < 128 and 0 <= c + j < 64 and i * i + j * j <= 16:
                        expected[r + i, c + j] = 1
        assert np.array_equal(maps[k], expected), JOINT_NAMES[k]


# ---- drawing ----

def test_draw_colours():
    pose = pose_with({1: (20, 30), 2: (50, 30), 13: (10, 55)}, image_size=(64, 64))
    image = pose.draw()
    assert image.mode == "RGB" and image.size == (64, 64)
    px = np.asarray(image)
    assert tuple(px[30, 20]) == OPENPOSE_COLORS[1] and tuple(px[30, 50]) == OPENPOSE_COLORS[2]
    assert tuple(px[55, 10]) == OPENPOSE_COLORS[13]
    assert tuple(px[30, 35]) == (153, 0, 0)  # limb neck-r_shoulder is LIMBS[0], colour 0 at 60%
    assert tuple(px[5, 60]) == (0, 0, 0) and tuple(px[45, 35]) == (0, 0, 0)
    on_grey = pose.draw(canvas=np.full((64, 64, 3), 100, np.uint8))
    assert tuple(np.asarray(on_grey)[5, 60]) == (100, 100, 100)
    assert tuple(np.asarray(on_grey)[30, 20]) == OPENPOSE_COLORS[1]
    with pytest.raises(PoseError, match="differs"):
        pose.draw(canvas=np.zeros((32, 32, 3), np.uint8))
