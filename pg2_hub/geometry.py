"""Images in and out of the model: conversion to RGB, tensors in [-1, 1], and the letterbox transform
that moves pixels and keypoints between a caller's framing and the model geometry together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .pose import Pose

MIN_IMAGE_SIDE = 8


class ImageInputError(ValueError):
    """An input image cannot be used; the message says what to do."""


def as_rgb_image(image, name: str = "image") -> Image.Image:
    """Convert a PIL image, a file path, a numpy array or a tensor to an RGB PIL image.

    Accepted: PIL images in any mode (EXIF orientation applied, alpha composited on white, greyscale
    expanded); paths to image files; numpy uint8 (H, W), (H, W, 3) or (H, W, 4), or float in [0, 1];
    torch tensors (3, H, W) float in [-1, 1] (the model convention, as returned with
    `output_type="pt"`) or uint8 in [0, 255].

    Raises:
        ImageInputError: not an image, or smaller than 8x8 pixels.
    """
    if isinstance(image, (str, Path)):
        try:
            with Image.open(image) as f:
                image = ImageOps.exif_transpose(f)
                image.load()
        except (UnidentifiedImageError, OSError) as e:
            raise ImageInputError(f"{name} {str(image)!r} is not a readable image file ({e}); give a PNG or JPEG") from e
    elif isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim != 3 or t.shape[0] not in (1, 3):
            raise ImageInputError(f"{name} tensor must be (3, H, W), got shape {tuple(t.shape)}")
        t = t.expand(3, -1, -1)
        array = t.numpy() if t.dtype == torch.uint8 else ((t.float().clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
        image = Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))
    elif isinstance(image, np.ndarray):
        a = image
        if a.dtype != np.uint8:
            if not np.issubdtype(a.dtype, np.floating):
                raise ImageInputError(f"{name} array must be uint8 or float in [0, 1], got dtype {a.dtype}")
            a = (np.clip(np.nan_to_num(a), 0, 1) * 255).round().astype(np.uint8)
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
            raise ImageInputError(f"{name} array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
        image = Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a)
    elif isinstance(image, Image.Image):
        image = ImageOps.exif_transpose(image)
    else:
        raise ImageInputError(
            f"{name} must be a PIL image, an image file path, a numpy array or a tensor, got {type(image).__name__}"
        )
    image, _ = to_rgb(image)
    if min(image.size) < MIN_IMAGE_SIDE:
        raise ImageInputError(
            f"{name} is {image.width}x{image.height} pixels; give a photo of a person at least "
            f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} (ideally as large as the model geometry)"
        )
    return image


def to_rgb(image: Image.Image) -> tuple[Image.Image, str | None]:
    """Any PIL mode -> RGB: transparency composited on white, greyscale expanded.

    Returns:
        (RGB image, a note saying what changed, or None when the image was RGB already).
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat, "transparent areas filled with white"
    if image.mode == "RGB":
        return image, None
    note = "greyscale photo used as RGB" if image.mode in ("L", "1", "I", "I;16", "F") else None
    return image.convert("RGB"), note


def to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> (3, H, W) float32 in [-1, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1) / 127.5 - 1.0


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """(3, H, W) tensor in [-1, 1] -> RGB PIL image (values outside [-1, 1] are clipped)."""
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte()
    return Image.fromarray(array.permute(1, 2, 0).numpy())


@dataclass(frozen=True)
class Letterbox:
    """Fit a (h, w) frame into the (H, W) model geometry: scale to fit keeping the aspect ratio, then
    pad with the background colour, centred. Pixels and keypoints go through the same transform, and
    `invert` maps model-geometry images back to the caller's framing.

    A 256x176 DeepFashion image into a 256x256 model is not scaled and is padded by 40 px on each
    side, the convention of spec section 5.

    Args:
        src_size: (h, w) of the caller's frame.
        dst_size: (H, W) of the model geometry.
        background: RGB padding colour.
    """

    src_size: tuple[int, int]
    dst_size: tuple[int, int]
    background: tuple[int, int, int] = (255, 255, 255)

    @property
    def scaled_size(self) -> tuple[int, int]:
        """(h', w') of the source after scaling, before padding."""
        (h, w), (H, W) = self.src_size, self.dst_size
        s = min(H / h, W / w)
        return min(H, max(1, round(h * s))), min(W, max(1, round(w * s)))

    @property
    def offset(self) -> tuple[int, int]:
        """(top, left) of the scaled source inside the model geometry."""
        (sh, sw), (H, W) = self.scaled_size, self.dst_size
        return (H - sh) // 2, (W - sw) // 2

    def image(self, image: Image.Image) -> Image.Image:
        """Caller's framing -> model geometry."""
        if (image.height, image.width) != tuple(self.src_size):
            raise ValueError(f"image is {image.height}x{image.width}, this letterbox expects {self.src_size}")
        (sh, sw), (top, left) = self.scaled_size, self.offset
        if (sh, sw) != (image.height, image.width):
            image = image.resize((sw, sh), Image.Resampling.BICUBIC)
        if (sh, sw) == tuple(self.dst_size):
            return image
        canvas = Image.new("RGB", (self.dst_size[1], self.dst_size[0]), tuple(self.background))
        canvas.paste(image, (left, top))
        return canvas

    def pose(self, pose: Pose) -> Pose:
        """Keypoints in the caller's frame -> keypoints in the model geometry."""
        if pose.image_size is None:
            pose = Pose(pose.keypoints, image_size=tuple(self.src_size), scores=pose.scores)
        if tuple(pose.image_size) != tuple(self.src_size):
            raise ValueError(f"pose frame is {pose.image_size}, this letterbox expects {self.src_size}")
        (sh, sw), (top, left), (H, W) = self.scaled_size, self.offset, self.dst_size
        return pose.resize((sh, sw)).pad(top, H - sh - top, left, W - sw - left)

    def invert(self, image: Image.Image) -> Image.Image:
        """Model geometry -> caller's framing (crop the padding, scale back)."""
        (sh, sw), (top, left), (h, w) = self.scaled_size, self.offset, self.src_size
        image = image.crop((left, top, left + sw, top + sh))
        return image if (sh, sw) == (h, w) else image.resize((w, h), Image.Resampling.BICUBIC)
