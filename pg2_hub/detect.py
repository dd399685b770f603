"""OpenPose body detection through controlnet-aux, returning a `Pose` in the image's pixels.

Only the body model is needed (no hand or face weights): by default `body_pose_model.pth` from the
Hub repo `lllyasviel/Annotators`, or a local `.pth` file / folder holding it.

    detector = OpenPoseDetector.from_pretrained()            # Hub (cached) weights
    detector = OpenPoseDetector.from_pretrained("body_pose_model.pth")   # a local file
    pose = detector.detect(image)                            # Pose, (x, y) pixels of `image`

controlnet-aux is imported lazily (its package import pulls in every annotator and takes seconds), so
importing this module is cheap and the conversion helpers work without it.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
from PIL import Image

from .pose import Pose, PoseError

DEFAULT_REPO = "lllyasviel/Annotators"
DEFAULT_FILENAME = "body_pose_model.pth"
NUM_JOINTS = 18  # COCO-18, the order controlnet-aux (OpenPose body_pose_model) returns


class NoPersonFoundError(PoseError):
    """The detector found no person in the image."""


class DetectorWeightsError(RuntimeError):
    """The OpenPose body weights could not be found, downloaded or loaded."""


def _weights_help(repo_or_path: str, filename: str) -> str:
    return (
        f"Download '{filename}' from https://huggingface.co/{DEFAULT_REPO} (any machine with "
        f"internet: `hf download {DEFAULT_REPO} {filename} --local-dir DIR`), then pass its local path, "
        f"e.g. OpenPoseDetector.from_pretrained('/path/to/{filename}') or `python app.py "
        f"--openpose /path/to/{filename}`. Asked for: {repo_or_path!r}."
    )


def resolve_body_weights(
    repo_or_path: str = DEFAULT_REPO,
    filename: str = DEFAULT_FILENAME,
    cache_dir: str | None = None,
    local_files_only: bool = False,
) -> str:
    """Return a local path to the OpenPose body weights.

    Args:
        repo_or_path: a `.pth` file, a folder holding `filename`, or a Hub repo id.
        filename: file name inside the folder or repo.
        cache_dir: Hub cache folder (default: the huggingface_hub default).
        local_files_only: never touch the network (also implied by HF_HUB_OFFLINE=1).

    Raises:
        DetectorWeightsError: the file is missing locally and cannot be downloaded; the message says
            how to provide it.
    """
    if os.path.isfile(repo_or_path):
        return repo_or_path
    if os.path.isdir(repo_or_path):
        path = os.path.join(repo_or_path, filename)
        if not os.path.isfile(path):
            raise DetectorWeightsError(f"No '{filename}' in folder {repo_or_path!r}. " + _weights_help(repo_or_path, filename))
        return path
    looks_like_path = repo_or_path.endswith((".pth", ".pt", ".bin")) or repo_or_path.startswith((".", "/", "~"))
    if looks_like_path or repo_or_path.count("/") != 1:
        raise DetectorWeightsError(f"OpenPose weights file {repo_or_path!r} does not exist. " + _weights_help(repo_or_path, filename))

    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo_or_path, filename, cache_dir=cache_dir, local_files_only=local_files_only)
    except Exception as e:  # offline, no network, unknown repo or file: all need the same fix
        raise DetectorWeightsError(
            f"Could not get OpenPose body weights '{filename}' from the Hub repo {repo_or_path!r} "
            f"({type(e).__name__}; offline or no network?). " + _weights_help(repo_or_path, filename)
        ) from e


def _to_rgb_array(image: Any) -> np.ndarray:
    """PIL / numpy / path -> (H, W, 3) uint8 RGB. Greyscale and RGBA are converted, nothing else."""
    if isinstance(image, (str, os.PathLike)):
        image = Image.open(image)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
            raise PoseError(f"Expected an (H, W), (H, W, 3) or (H, W, 4) image array, got shape {image.shape}.")
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.size and arr.max() <= 1.0:
                arr = arr * 255.0
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        return np.ascontiguousarray(arr[..., :3])
    raise PoseError(f"Expected a PIL image, numpy array or image path, got {type(image).__name__}.")


def _body_of(result: Any) -> Any:
    """A controlnet-aux PoseResult -> its BodyResult (a BodyResult passes through)."""
    return result.body if hasattr(result, "body") else result


def pose_from_body(body: Any, image_size: tuple[int, int]) -> Pose:
    """Convert one controlnet-aux body result (normalised [0, 1] coordinates) to a `Pose`.

    Args:
        body: a controlnet-aux `BodyResult` (or `PoseResult`): `.keypoints` is 18 `Keypoint(x, y,
            score, id)` or `None` for a missing joint, with x, y divided by the image width / height.
        image_size: (height, width) of the image the detector saw, in pixels.

    Returns:
        Pose in (x, y) pixels of that image, -1 for missing joints, per-joint scores (0 if missing).
    """
    body = _body_of(body)
    h, w = image_size
    keypoints = np.full((NUM_JOINTS, 2), -1.0, dtype=np.float32)  # (18, 2)
    scores = np.zeros(NUM_JOINTS, dtype=np.float32)  # (18,)
    for j, kp in enumerate(list(body.keypoints)[:NUM_JOINTS]):
        if kp is None:
            continue
        x, y = float(kp.x), float(kp.y)
        if not (np.isfinite(x) and np.isfinite(y)) or x < 0 or y < 0:
            continue
        keypoints[j] = (min(x * w, w - 1), min(y * h, h - 1))
        scores[j] = float(getattr(kp, "score", 1.0))
    return Pose.from_array(keypoints, image_size=(h, w), scores=scores)


def best_pose(results: Sequence[Any], image_size: tuple[int, int]) -> Pose:
    """Pick the person with the highest total score from controlnet-aux `detect_poses` results.

    Raises:
        NoPersonFoundError: `results` is empty.
    """
    if len(results) == 0:
        raise NoPersonFoundError(
            "No person found in the image. Use a photo where one person is clearly visible (whole "
            "body, not too small), or give the pose another way (preset, OpenPose JSON, joint editor)."
        )
    best = max(results, key=lambda r: float(_body_of(r).total_score))
    return pose_from_body(best, image_size)


class OpenPoseDetector:
    """OpenPose body-pose detector (controlnet-aux `Body`) that returns `Pose` objects.

    Args:
        body_model_path: local path to `body_pose_model.pth` (state dict keys like `conv1_1.weight`).
        device: torch device for the network.
        detect_resolution: images whose long side is larger are downscaled to this before detection
            (faster; the returned keypoints are still in the original image's pixels). None = never.
    """

    def __init__(self, body_model_path: str, device: str = "cpu", detect_resolution: int | None = 512):
        try:
            from controlnet_aux.open_pose import Body, OpenposeDetector
        except ImportError as e:
            raise ImportError("Pose detection needs controlnet-aux: `pip install controlnet-aux`.") from e
        try:
            body = Body(body_model_path)
        except Exception as e:  # truncated file, wrong architecture, pickle refused...
            raise DetectorWeightsError(
                f"Could not load OpenPose body weights from {body_model_path!r}: {e}. "
                + _weights_help(body_model_path, DEFAULT_FILENAME)
            ) from e
        self._detector = OpenposeDetector(body.to(device))
        self.body_model_path = body_model_path
        self.device = device
        self.detect_resolution = detect_resolution

    @classmethod
    def from_pretrained(
        cls,
        repo_or_path: str = DEFAULT_REPO,
        filename: str = DEFAULT_FILENAME,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        device: str = "cpu",
        detect_resolution: int | None = 512,
    ) -> "OpenPoseDetector":
        """Build the detector from a Hub repo id, a folder or a `.pth` file (see `resolve_body_weights`)."""
        path = resolve_body_weights(repo_or_path, filename, cache_dir=cache_dir, local_files_only=local_files_only)
        return cls(path, device=device, detect_resolution=detect_resolution)

    def _results(self, image: Any) -> tuple[list, tuple[int, int]]:
        rgb = _to_rgb_array(image)  # (H, W, 3) uint8
        h, w = rgb.shape[:2]
        if h < 8 or w < 8:
            raise PoseError(f"Image of {w}x{h} pixels is too small to detect a pose in.")
        if self.detect_resolution and max(h, w) > self.detect_resolution:
            s = self.detect_resolution / max(h, w)
            small = (max(1, round(w * s)), max(1, round(h * s)))
            rgb = np.asarray(Image.fromarray(rgb).resize(small, Image.BICUBIC))
        # detect_poses takes RGB and returns coordinates normalised by the size it saw
        return self._detector.detect_poses(rgb), (h, w)

    def detect(self, image: Any) -> Pose:
        """Detect the most confident person.

        Args:
            image: PIL image, (H, W[, C]) uint8 array or path; EXIF orientation is not applied here.

        Returns:
            Pose in (x, y) pixels of `image`, `image_size` = (H, W).

        Raises:
            NoPersonFoundError: nobody was detected.
        """
        results, size = self._results(image)
        return best_pose(results, size)

    def detect_all(self, image: Any) -> list[Pose]:
        """Every detected person, most confident first (empty list if none)."""
        results, size = self._results(image)
        results = sorted(results, key=lambda r: float(_body_of(r).total_score), reverse=True)
        return [pose_from_body(r, size) for r in results]

    __call__ = detect
