"""G2, the fully convolutional refinement U-Net of PG2 that predicts a difference map (spec section 3)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import HUB_METADATA, ConvReLU, channels_last, HubModel, check_geometry, default_levels


class G2(HubModel, **HUB_METADATA):
    """Stage-2 generator: (G1 output, condition image I_A) -> difference map; refined = G1 + difference.

    The released network has L - 2 levels (3 at 128 px, 4 at 256 px) of two 3x3 convs at widths
    n, 2n, 3n(, 4n) with stride-2 convs between, and a decoder of two 3x3 convs -> n per level with
    U-Net skip concatenation and nearest-neighbour upsampling. Decoder level i concatenates encoder
    level L'-1-i (at i = 0 that is the deepest encoder output itself, as in the released code).
    The released Market model omits the skip at the full-resolution level, DeepFashion keeps it.

    Args:
        image_height: H of the model geometry (divisible by 2^(levels-1)).
        image_width: W of the model geometry.
        image_channels: channels of each input image and of the difference map.
        hidden: n, the base width.
        levels: number of levels; None means the released log2(H) - 4.
        skip_first_level: concatenate the full-resolution encoder features in the last decoder level;
            None means the released choice (True above 128 px height, i.e. DeepFashion).
    """

    def __init__(
        self,
        image_height: int = 128,
        image_width: int = 64,
        image_channels: int = 3,
        hidden: int = 128,
        levels: int | None = None,
        skip_first_level: bool | None = None,
    ):
        super().__init__()
        L = levels if levels is not None else max(default_levels(image_height) - 2, 1)
        check_geometry("G2", image_height, image_width, L)
        if skip_first_level is None:
            skip_first_level = image_height > 128
        self.record_config(levels=L, skip_first_level=skip_first_level)
        self.levels, self.skip_first_level, self.image_size = L, skip_first_level, (image_height, image_width)
        widths = [hidden * (i + 1) for i in range(L)]

        # encoder: stem, per level two convs (kept as skip), stride-2 conv between levels
        self.stem = ConvReLU(2 * image_channels, hidden)
        self.enc_blocks = nn.ModuleList(nn.Sequential(ConvReLU(w, w), ConvReLU(w, w)) for w in widths)
        self.downs = nn.ModuleList(ConvReLU(widths[i], widths[i + 1], stride=2) for i in range(L - 1))
        # decoder: (concat skip) two convs -> n, nearest upsample between levels
        dec_in = [widths[-1] * 2] + [hidden + widths[L - 1 - i] for i in range(1, L)]
        if not skip_first_level and L > 1:
            dec_in[-1] = hidden
        self.dec_blocks = nn.ModuleList(nn.Sequential(ConvReLU(c, hidden), ConvReLU(hidden, hidden)) for c in dec_in)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.out = nn.Conv2d(hidden, image_channels, 3, padding=1)

    def uses_skip(self, i: int) -> bool:
        """Whether decoder level i concatenates its encoder skip."""
        return i < self.levels - 1 or self.skip_first_level or self.levels == 1

    def forward(self, G1_out: torch.Tensor, I_A: torch.Tensor) -> torch.Tensor:
        """G1_out and I_A (B, 3, H, W) in [-1, 1] -> difference map (B, 3, H, W)."""
        x = self.stem(channels_last(torch.cat([G1_out, I_A], dim=1)))  # (B, n, H, W)
        skips = []
        for i, block in enumerate(self.enc_blocks):
            x = block(x)
            skips.append(x)
            if i < self.levels - 1:
                x = self.downs[i](x)
        for i, block in enumerate(self.dec_blocks):
            if self.uses_skip(i):
                x = torch.cat([x, skips[self.levels - 1 - i]], dim=1)
            x = block(x)  # (B, n, h, w)
            if i < self.levels - 1:
                x = self.up(x)
        return self.out(x).contiguous()
