"""PG2: the one inference object. Holds G1 and G2, loads and publishes both stages as one Hub
repo, and turns (condition image, target pose) into (coarse, refined, pose drawing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from .card import render_model_card
from .geometry import Letterbox, as_rgb_image, to_pil, to_tensor
from .models import G1, G2
from .models.blocks import HUB_METADATA, HubModel
from .pose import NUM_JOINTS, Pose, PoseError

POSE_ENCODINGS = ("disk", "gaussian")


def bf16_is_fast(device: str | torch.device = "cpu") -> bool:
    """Whether bfloat16 autocast speeds this device up: CUDA, or a CPU with AVX-512 BF16 / AMX.

    On CPUs without native bfloat16 (e.g. AVX2-only), oneDNN emulates it and it is several times
    slower than float32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return True
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return device.type == "cpu" and ("avx512_bf16" in flags or "amx_bf16" in flags)


@dataclass
class PG2Output:
    """What `PG2.__call__` returns: one entry per (condition image, target pose) pair.

    Attributes:
        coarse: G1 outputs.
        refined: final outputs, G1 + G2 difference map (equal to `coarse` for a stage-1-only model).
        pose: drawings of the target poses in the condition image's frame.
    With output_type "pil" (default) images are PIL in the condition image's framing; "np" gives
    uint8 (H, W, 3) arrays in that framing; "pt" gives (B, 3, H, W) tensors in [-1, 1] in the model
    geometry (no framing applied), the form training and evaluation code use.
    """

    coarse: list | torch.Tensor
    refined: list | torch.Tensor
    pose: list[Image.Image] = field(default_factory=list)


def as_pose(target: Any, frame: tuple[int, int]) -> Pose:
    """Turn the `target_pose` argument into a Pose in the (h, w) `frame` of its condition image.

    Accepted: a `Pose` (used in its own frame when it has an image_size, fitted into `frame` with the
    letterbox rule when that differs); an (18, 2) / (18, 3) array or nested list of (x, y[, score])
    pixels with -1 for missing joints, in `frame`; an OpenPose JSON dict or string (pixels or
    normalised coordinates, canvas_width/canvas_height honoured, otherwise in `frame`).
    """
    if isinstance(target, Pose):
        pose = target
    elif isinstance(target, (dict, str)):
        pose = Pose.from_openpose_json(target, image_size=frame)
    else:
        pose = Pose.from_array(target, image_size=frame)
    if pose.image_size is None:
        pose = Pose(pose.keypoints, image_size=frame, scores=pose.scores)
    if tuple(pose.image_size) != tuple(frame):
        pose = Letterbox(tuple(pose.image_size), tuple(frame), (0, 0, 0)).pose(pose)
    return pose


def _is_batch(target: Any) -> bool:
    """Whether a target_pose argument is a sequence of poses rather than one keypoint list."""
    if isinstance(target, (Pose, dict, str)):
        return False
    if isinstance(target, (np.ndarray, torch.Tensor)):
        return target.ndim == 3
    if isinstance(target, (list, tuple)) and target:
        return isinstance(target[0], (Pose, dict, str)) or np.ndim(target[0]) == 2
    return False


class PG2(HubModel, **HUB_METADATA):
    """Pose Guided Person Image Generation: G1 (pose integration) then G2 (refinement).

    One Hub repo / local folder holds both stages (`g1.*` and `g2.*` tensors in one
    `model.safetensors`, both configurations in `config.json`, a filled model card in `README.md`).

    Args:
        g1_config: constructor kwargs of G1 (image size, widths, ...).
        g2_config: constructor kwargs of G2, or None for a stage-1-only model (refined = coarse).
        pose_encoding: "disk" (released radius-4 disks) or "gaussian" (heatmaps of `pose_sigma`).
        pose_radius: disk radius in model pixels.
        pose_sigma: Gaussian sigma in model pixels.
        background: RGB colour used to letterbox inputs into the model geometry.
        min_joints: fewest visible target joints accepted by `__call__`.
        model_name: human-readable name shown on the model card and in the app.
        training_info: facts about training for the model card and the app (dataset, steps, metrics, ...).

    Example:
        >>> pipe = PG2.from_pretrained("checkpoints/pg2-deepfashion-demo")
        >>> out = pipe(person_image, target_pose)
        >>> out.refined[0].save("refined.png")
    """

    def __init__(
        self,
        g1_config: dict,
        g2_config: dict | None = None,
        pose_encoding: str = "disk",
        pose_radius: int = 4,
        pose_sigma: float = 6.0,
        background: list[int] = (255, 255, 255),
        min_joints: int = 4,
        model_name: str = "pg2",
        training_info: dict | None = None,
    ):
        super().__init__()
        if pose_encoding not in POSE_ENCODINGS:
            raise ValueError(f"pose_encoding must be one of {POSE_ENCODINGS}, got {pose_encoding!r}")
        if len(background) != 3:
            raise ValueError(f"background must be an RGB triple, got {background!r}")
        self.g1 = G1(**g1_config)
        self.g2 = G2(**g2_config) if g2_config is not None else None
        if self.g2 is not None and self.g2.image_size != self.g1.image_size:
            raise ValueError(f"G1 works at {self.g1.image_size} but G2 at {self.g2.image_size}; both stages need one geometry")
        self.record_config(g1_config=dict(self.g1._hub_mixin_config),
                           g2_config=dict(self.g2._hub_mixin_config) if self.g2 is not None else None)
        self.image_size: tuple[int, int] = self.g1.image_size
        self.pose_encoding, self.pose_radius, self.pose_sigma = pose_encoding, pose_radius, float(pose_sigma)
        self.background = tuple(int(c) for c in background)
        self.min_joints, self.model_name = min_joints, model_name
        self.training_info = training_info
        #: Run G1 and G2 under bfloat16 autocast (the opt-in fast path; float32 weights are kept).
        self.autocast_bf16 = False

    @property
    def training_info(self) -> dict:
        """Facts about training (dataset, steps, metrics, ...); kept in config.json and shown on the card."""
        return self._hub_mixin_config.get("training_info") or {}

    @training_info.setter
    def training_info(self, value: dict | None) -> None:
        self.record_config(training_info=dict(value or {}))

    @classmethod
    def from_models(cls, g1: G1, g2: G2 | None = None, **kwargs: Any) -> "PG2":
        """Assemble a pipeline from trained G1 (and G2) modules (their weights are copied).

        Args:
            g1: a G1 (its config becomes `g1_config`).
            g2: a G2 or None.
            **kwargs: the other PG2 constructor arguments.
        """
        pipe = cls(g1_config=dict(g1._hub_mixin_config), g2_config=dict(g2._hub_mixin_config) if g2 else None, **kwargs)
        pipe.g1.load_state_dict(g1.state_dict())
        if g2 is not None:
            pipe.g2.load_state_dict(g2.state_dict())
        return pipe.to(next(g1.parameters()).device)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *, device: str | torch.device = "cpu",
                        dtype: torch.dtype = torch.float32, autocast_bf16: bool = False, **kwargs: Any) -> "PG2":
        """Load both stages from a local folder or a Hub repo id.

        Args:
            pretrained_model_name_or_path: folder written by `save_pretrained`, or a Hub repo id.
            device: where to put the model ("cpu", "cuda", ...).
            dtype: parameter dtype; float32 by default.
            autocast_bf16: run the networks under bfloat16 autocast, the fast path on GPUs and on CPUs
                with native bfloat16 (AVX-512 BF16 / AMX); outputs differ from float32 by ~3e-3 on average
                but up to 0.06 (G1) and 0.29 (G1+G2) per pixel on the demo models (values in [-1, 1]).
            **kwargs: Hub download options (`revision`, `cache_dir`, `token`, `local_files_only`, ...).
        """
        pipe = super().from_pretrained(pretrained_model_name_or_path, **kwargs).to(device=device, dtype=dtype)
        pipe.autocast_bf16 = autocast_bf16
        return pipe

    def compile(self, **kwargs: Any) -> "PG2":
        """Compile G1 and G2 in place with `torch.compile` (weights and state-dict keys unchanged).

        Pays off in a long-running process: on a 2-core AVX2 CPU the DeepFashion demo model goes from
        0.35 s to 0.26 s per image (identical outputs) after about 50 s of compiling on first use.

        Args:
            **kwargs: passed to `torch.compile` (e.g. mode="max-autotune").
        """
        self.g1.compile(**kwargs)
        if self.g2 is not None:
            self.g2.compile(**kwargs)
        return self

    # ---- the one inference path ---------------------------------------------------------------
    def encode_pose(self, pose: Pose) -> torch.Tensor:
        """Target pose in model geometry -> (18, H, W) pose maps in [-1, 1] (the training encoding)."""
        maps = pose.pose_maps(kind=self.pose_encoding, radius=self.pose_radius, sigma=self.pose_sigma,
                              size=self.image_size)
        return torch.from_numpy(maps)

    @torch.inference_mode()
    def generate(self, I_A: torch.Tensor, P_B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Model-geometry tensors in, (coarse, refined) out, all (B, 3, H, W) in [-1, 1].

        Args:
            I_A: (B, 3, H, W) condition images.
            P_B: (B, 18, H, W) target pose maps.
        """
        p = next(self.parameters())
        I_A, P_B = I_A.to(p.device, p.dtype), P_B.to(p.device, p.dtype)
        with torch.autocast(p.device.type, dtype=torch.bfloat16, enabled=self.autocast_bf16):
            coarse = self.g1(I_A, P_B)
            refined = coarse.float() + self.g2(coarse, I_A).float() if self.g2 is not None else coarse
        return coarse.float(), refined.float()

    def __call__(self, condition_image, target_pose, output_type: str = "pil", batch_size: int = 16) -> PG2Output:
        """Draw the person of `condition_image` in `target_pose`.

        Args:
            condition_image: a PIL image / numpy array / tensor / file path, or a list of them.
            target_pose: a `Pose`, an (18, 2) keypoint array in (x, y) pixels of the condition image
                (-1 = missing), or an OpenPose JSON dict/string; or a list of these. One image with
                several poses, or several images with one pose, broadcast.
            output_type: "pil", "np" or "pt" (see `PG2Output`).
            batch_size: how many pairs go through the networks at once.

        Raises:
            ImageInputError: an input is not an image or is too small.
            PoseError: a pose is malformed or has fewer than `min_joints` visible joints.
        """
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        images = list(condition_image) if isinstance(condition_image, (list, tuple)) else [condition_image]
        poses = list(target_pose) if _is_batch(target_pose) else [target_pose]
        if not images or not poses:
            raise ValueError("give at least one condition image and one target pose")
        if len(images) != len(poses) and 1 not in (len(images), len(poses)):
            raise ValueError(f"{len(images)} condition images but {len(poses)} target poses; give equal numbers, or one of either")
        n = max(len(images), len(poses))
        rgb = [as_rgb_image(im, name=f"condition image {i}") for i, im in enumerate(images)]
        rgb = rgb * n if len(rgb) == 1 else rgb
        poses = poses * n if len(poses) == 1 else poses

        boxes, I_A, P_B, frame_poses = [], [], [], []
        for i, (image, target) in enumerate(zip(rgb, poses)):
            frame = (image.height, image.width)
            pose = as_pose(target, frame)
            if pose.num_visible < self.min_joints:
                raise PoseError(
                    f"target pose {i} has {pose.num_visible} of {NUM_JOINTS} joints; at least {self.min_joints} are "
                    "needed (e.g. neck, shoulders and hips): check the detection, or place more joints"
                )
            box = Letterbox(frame, self.image_size, self.background)
            boxes.append(box)
            frame_poses.append(pose)
            I_A.append(to_tensor(box.image(image)))
            P_B.append(self.encode_pose(box.pose(pose)))

        coarse, refined = [], []
        for s in range(0, n, batch_size):
            c, r = self.generate(torch.stack(I_A[s:s + batch_size]), torch.stack(P_B[s:s + batch_size]))
            coarse.append(c)
            refined.append(r)
        coarse, refined = torch.cat(coarse), torch.cat(refined)
        drawings = [p.draw() for p in frame_poses]
        if output_type == "pt":
            return PG2Output(coarse=coarse, refined=refined, pose=drawings)
        coarse = [box.invert(to_pil(t)) for box, t in zip(boxes, coarse)]
        refined = [box.invert(to_pil(t)) for box, t in zip(boxes, refined)]
        if output_type == "np":
            coarse, refined = [np.asarray(im) for im in coarse], [np.asarray(im) for im in refined]
        return PG2Output(coarse=coarse, refined=refined, pose=drawings)

    def forward(self, I_A: torch.Tensor, P_B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable (coarse, refined) for (B, 3, H, W) I_A and (B, 18, H, W) P_B."""
        coarse = self.g1(I_A, P_B)
        return coarse, coarse + self.g2(coarse, I_A) if self.g2 is not None else coarse

    # ---- Hub -----------------------------------------------------------------------------------
    def generate_model_card(self, *args, **kwargs):
        """The filled card of model_cards/pg2_template.md (written by save_pretrained/push_to_hub)."""
        return render_model_card(self, card_data=self._hub_mixin_info.model_card_data, **kwargs)

    def describe(self) -> dict:
        """Facts about this model for cards and the app: name, geometry, parameters, training."""
        return {
            "model_name": self.model_name,
            "image_size": list(self.image_size),
            "stages": "G1 + G2" if self.g2 is not None else "G1 only",
            "g1_parameters": sum(p.numel() for p in self.g1.parameters()),
            "g2_parameters": sum(p.numel() for p in self.g2.parameters()) if self.g2 is not None else 0,
            "g1_config": self._hub_mixin_config["g1_config"],
            "g2_config": self._hub_mixin_config["g2_config"],
            "pose_encoding": self.pose_encoding,
            "training": self.training_info,
        }
