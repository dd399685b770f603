"""OpenPose detection: controlnet-aux results -> Pose, weights loading, clear failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pg2_hub.detect import (
    DetectorWeightsError,
    NoPersonFoundError,
    OpenPoseDetector,
    best_pose,
    pose_from_body,
    resolve_body_weights,
)
from pg2_hub.pose import PoseError

open_pose = pytest.importorskip("controlnet_aux.open_pose")
Keypoint, BodyResult, PoseResult = open_pose.Keypoint, open_pose.BodyResult, open_pose.PoseResult


def person(points: dict[int, tuple[float, float]], total_score: float, score: float = 0.8) -> PoseResult:
    """A controlnet-aux detect_poses() entry: normalised (x, y) for the given joints, None elsewhere."""
    keypoints = [Keypoint(x=points[j][0], y=points[j][1], score=score, id=j) if j in points else None
                 for j in range(18)]
    body = BodyResult(keypoints=keypoints, total_score=total_score, total_parts=len(points))
    return PoseResult(body, None, None, None)


# ---- conversion ----


def test_normalised_coordinates_become_pixels_and_none_becomes_missing():
    result = person({0: (0.5, 0.25), 1: (0.5, 0.3), 2: (0.0, 0.0), 13: (0.999, 1.0)}, total_score=5.0)
    pose = pose_from_body(result, (200, 100))  # (h, w)
    assert pose.image_size == (200, 100)
    np.testing.assert_allclose(pose.keypoints[0], [50.0, 50.0])
    np.testing.assert_allclose(pose.keypoints[1], [50.0, 60.0])
    np.testing.assert_allclose(pose.keypoints[2], [0.0, 0.0])  # a joint at the corner stays present
    np.testing.assert_allclose(pose.keypoints[13], [99.0, 199.0], atol=0.11)  # clamped into the frame
    assert pose.num_visible == 4
    missing = [j for j in range(18) if j not in (0, 1, 2, 13)]
    assert (pose.keypoints[missing] == -1).all()
    assert pose.scores[0] == pytest.approx(0.8) and (pose.scores[missing] == 0).all()


def test_body_result_without_pose_result_wrapper():
    body = person({1: (0.5, 0.5)}, total_score=1.0).body
    np.testing.assert_allclose(pose_from_body(body, (64, 32)).keypoints[1], [16.0, 32.0])


def test_several_people_keep_highest_total_score():
    many_parts_low_score = person({j: (0.1, 0.1) for j in range(18)}, total_score=3.0)
    best = person({0: (0.7, 0.2), 1: (0.7, 0.3), 2: (0.6, 0.3), 5: (0.8, 0.3)}, total_score=9.0)
    third = person({0: (0.3, 0.2), 1: (0.3, 0.3)}, total_score=4.0)
    pose = best_pose([many_parts_low_score, best, third], (100, 100))
    np.testing.assert_allclose(pose.keypoints[0], [70.0, 20.0])
    assert pose.num_visible == 4


def test_no_person_is_a_clear_error():
    with pytest.raises(NoPersonFoundError, match="No person found"):
        best_pose([], (100, 100))
    assert issubclass(NoPersonFoundError, PoseError) and issubclass(NoPersonFoundError, ValueError)


# ---- weights ----


@pytest.fixture(scope="module")
def random_body_checkpoint(tmp_path_factory):
    """A body_pose_model.pth with random weights, keys as the real file has them (`conv1_1.weight`).

    All tensors are views of one random buffer (torch.save stores it once: a few MB instead of 200),
    and the two output layers are zero so the heatmaps are empty: the network runs, finds nobody.
    """
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in open_pose.body.bodypose_model().state_dict().items()}
    base = torch.randn(max(s.numel() for s in shapes.values()), generator=torch.Generator().manual_seed(0)) * 0.01
    state = {}
    for key, shape in shapes.items():
        name = key.split(".", 1)[1]  # model0.conv1_1.weight -> conv1_1.weight
        state[name] = (torch.zeros(shape) if "Mconv7_stage6" in name else base[: shape.numel()].view(shape))
    path = tmp_path_factory.mktemp("openpose") / "body_pose_model.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def detector(random_body_checkpoint):
    return OpenPoseDetector.from_pretrained(str(random_body_checkpoint))


def test_loads_local_checkpoint_and_runs(detector, random_body_checkpoint):
    assert resolve_body_weights(str(random_body_checkpoint.parent)) == str(random_body_checkpoint)  # folder
    assert detector.body_model_path == str(random_body_checkpoint)
    loaded = detector._detector.body_estimation.model.state_dict()
    saved = torch.load(random_body_checkpoint)
    assert torch.equal(loaded["model0.conv1_1.weight"], saved["conv1_1.weight"])
    image = Image.new("RGB", (48, 64), (128, 100, 90))
    with pytest.raises(NoPersonFoundError):  # the real network runs; zero output layers: nobody
        detector.detect(image)


def test_detect_maps_back_to_original_pixels_after_downscaling(detector, monkeypatch):
    monkeypatch.setattr(detector, "detect_resolution", 256)
    seen = []

    def fake_detect_poses(rgb):
        seen.append(rgb.shape)
        return [person({0: (0.25, 0.5), 1: (0.5, 0.5)}, total_score=2.0),
                person({0: (0.75, 0.1), 1: (0.8, 0.2)}, total_score=7.0)]

    monkeypatch.setattr(detector._detector, "detect_poses", fake_detect_poses)
    pose = detector.detect(Image.new("L", (400, 1000)))  # greyscale, taller than detect_resolution
    assert seen == [(256, 102, 3)]  # RGB, long side downscaled to 256
    assert pose.image_size == (1000, 400)
    np.testing.assert_allclose(pose.keypoints[:2], [[300.0, 100.0], [320.0, 200.0]])
    assert [p.keypoints[0, 0] for p in detector.detect_all(np.zeros((1000, 400, 3), np.uint8))] == [300.0, 100.0]


def test_offline_hub_weights_error_says_how_to_provide_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DetectorWeightsError) as err:
        resolve_body_weights("lllyasviel/Annotators", cache_dir=str(tmp_path))
    message = str(err.value)
    assert "body_pose_model.pth" in message and "hf download" in message and "--openpose" in message


def test_missing_or_broken_local_weights(tmp_path):
    with pytest.raises(DetectorWeightsError, match="does not exist"):
        resolve_body_weights(str(tmp_path / "nope.pth"))
    with pytest.raises(DetectorWeightsError, match="No 'body_pose_model.pth' in folder"):
        resolve_body_weights(str(tmp_path))
    broken = tmp_path / "body_pose_model.pth"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorWeightsError, match="Could not load"):
        OpenPoseDetector.from_pretrained(str(broken))


def test_bad_image_input(detector):
    with pytest.raises(PoseError, match="image array"):
        detector.detect(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(PoseError, match="too small"):
        detector.detect(Image.new("RGB", (4, 4)))
    with pytest.raises(PoseError, match="PIL image"):
        detector.detect(42)
