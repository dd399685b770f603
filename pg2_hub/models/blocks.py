"""Small building blocks shared by G1, G2 and D, and the Hub base class they all use."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..hub import CheckpointError, resolve_model_dir

PAPER_URL = "https://arxiv.org/abs/1705.09368"
REPO_URL = "https://github.com/pg2-hub/pg2-hub"
HUB_METADATA = dict(
    library_name="pg2-hub",
    license="mit",
    paper_url=PAPER_URL,
    repo_url=REPO_URL,
    pipeline_tag="image-to-image",
    tags=["pose-guided-person-image-generation", "pg2", "person-image-generation", "pose-transfer"],
)


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with 'same' padding (stride 2 halves H and W)."""
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


class ConvReLU(nn.Sequential):
    """Convolution followed by ReLU (every conv in G is activated except the output conv)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1):
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """x + relu(conv3x3(relu(conv3x3(x)))) at constant width, as in the released G1."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(ConvReLU(width, width), ConvReLU(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC memory layout for activations: 3-4x faster convolutions on CPU (oneDNN), tensor cores on GPU."""
    return x.contiguous(memory_format=torch.channels_last)


def default_levels(image_height: int) -> int:
    """The released number of levels, L = log2(H) - 2 (5 for 128 px, 6 for 256 px)."""
    return max(int(math.log2(image_height)) - 2, 1)


def check_geometry(name: str, image_height: int, image_width: int, levels: int, min_levels: int = 1) -> None:
    """Raise a clear error when (H, W) cannot be halved levels-1 times."""
    if levels < min_levels:
        raise ValueError(f"{name}: levels must be >= {min_levels}, got {levels}")
    factor = 2 ** (levels - 1)
    if image_height <= 0 or image_width <= 0 or image_height % factor or image_width % factor:
        raise ValueError(
            f"{name}: image size {image_height}x{image_width} must be positive and divisible by "
            f"2^(levels-1) = {factor} for {levels} levels; choose another size or fewer levels"
        )


class HubModel(nn.Module, PyTorchModelHubMixin):
    """Base for every pg2-hub network: strict, clearly failing `from_pretrained`.

    huggingface_hub's default loader uses `strict=False`, which would silently leave missing weights
    random. Here a folder must hold `config.json` and `model.safetensors` whose tensors match the
    configured architecture exactly; anything else raises `CheckpointError` saying what is wrong.
    """

    def record_config(self, **resolved: Any) -> None:
        """Write values resolved in __init__ (e.g. levels=None -> 5) into config.json, keeping it complete."""
        if getattr(self, "_hub_mixin_config", None) is None:
            self._hub_mixin_config = {}
        self._hub_mixin_config.update(resolved)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any):
        """Load from a local folder or a Hub repo id (downloaded once into the HF cache).

        Args:
            pretrained_model_name_or_path: local folder written by `save_pretrained`, or a Hub repo id.
            **kwargs: `revision`, `cache_dir`, `token`, `force_download`, `local_files_only` (Hub
                download options), `map_location` (device for the weights) and constructor overrides.
        """
        hub_keys = ("revision", "cache_dir", "token", "force_download", "local_files_only")
        hub_kwargs = {k: kwargs.pop(k) for k in hub_keys if k in kwargs}
        folder = resolve_model_dir(pretrained_model_name_or_path, **hub_kwargs)
        if not (folder / "config.json").is_file():
            raise CheckpointError(f"{folder} has no config.json; it was not written by {cls.__name__}.save_pretrained")
        return super().from_pretrained(str(folder), **kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, map_location: str = "cpu", strict: bool = True, **kwargs: Any):
        for key in ("revision", "cache_dir", "force_download", "local_files_only", "token"):
            kwargs.pop(key, None)
        try:
            model = cls(**kwargs)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{model_id}/config.json does not describe a valid {cls.__name__}: {e}") from e
        load_weights(model, Path(model_id) / "model.safetensors", strict=strict, map_location=map_location)
        return model.eval()


def load_weights(model: nn.Module, path: Path, strict: bool = True, map_location: str = "cpu") -> None:
    """Load a safetensors file into `model`, failing clearly on any missing, extra or misshapen tensor.

    Args:
        model: the module to fill.
        path: the `model.safetensors` file.
        strict: when False, missing and unexpected keys are tolerated (shapes must still match).
        map_location: device the tensors are loaded onto.
    """
    if not path.is_file():
        raise CheckpointError(f"weights file {path} is missing; re-export the model with save_pretrained")
    try:
        state = load_file(str(path), device=str(map_location))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e}); the file is corrupt or truncated") from e
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in own if k in state and state[k].shape != own[k].shape]
    problems = []
    if mismatched:
        problems.append(f"{len(mismatched)} tensors have the wrong shape ({'; '.join(mismatched[:3])})")
    if strict and missing:
        problems.append(f"{len(missing)} tensors are missing (e.g. {', '.join(missing[:3])})")
    if strict and unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if problems:
        raise CheckpointError(
            f"{path} does not match the {type(model).__name__} described by its config.json: "
            + "; ".join(problems) + ". Check that config.json and model.safetensors come from the same export."
        )
    model.load_state_dict(state, strict=strict)
