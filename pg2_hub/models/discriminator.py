"""The DCGAN discriminator of PG2, on single images (released code) or (condition, image) pairs (paper)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import HUB_METADATA, HubModel, channels_last


class Discriminator(HubModel, **HUB_METADATA):
    """DCGAN discriminator: conv5x5 stride 2 at widths 64, 128, 256, 512(, 512), batch norm on all
    but the first, LeakyReLU 0.2, then a linear layer to one logit. Weights init N(0, 0.02).

    Args:
        image_height: H of the model geometry (each stride-2 conv maps s to ceil(s / 2)).
        image_width: W of the model geometry.
        in_channels: 3 for the released single-image D, 6 for the paper's (I_A, image) pair D.
        base_width: width of the first conv; layer i has min(base*2^i, 8*base).
        num_layers: number of stride-2 convs; None means 4 for H <= 128 (Market), 5 above (DeepFashion).
    """

    def __init__(
        self,
        image_height: int = 128,
        image_width: int = 64,
        in_channels: int = 3,
        base_width: int = 64,
        num_layers: int | None = None,
    ):
        super().__init__()
        n = num_layers if num_layers is not None else (4 if image_height <= 128 else 5)
        if image_height <= 0 or image_width <= 0 or n < 1:
            raise ValueError(f"Discriminator: need a positive image size and num_layers >= 1, got {image_height}x{image_width}, {n}")
        self.record_config(num_layers=n)
        self.in_channels = in_channels
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(n):
            c_out = min(base_width * 2**i, base_width * 8)
            layers.append(nn.Conv2d(c_in, c_out, 5, stride=2, padding=2, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        h, w = image_height, image_width
        for _ in range(n):
            h, w = -(-h // 2), -(-w // 2)
        self.logit = nn.Linear(c_in * h * w, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DCGAN init: conv and linear weights N(0, 0.02), batch-norm scale N(1, 0.02), biases 0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """image (B, 3, H, W) [and condition I_A (B, 3, H, W) for the pair D] -> logits (B,)."""
        if self.in_channels == 2 * image.shape[1]:
            if condition is None:
                raise ValueError("this is a pair discriminator (paper variant): pass the condition image too")
            image = torch.cat([condition, image], dim=1)
        return self.logit(self.features(channels_last(image)).flatten(1)).squeeze(1)
