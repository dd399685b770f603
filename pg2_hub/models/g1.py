"""G1, the pose-integration U-Net of PG2 with a fully connected bottleneck (spec section 3)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import HUB_METADATA, ConvReLU, channels_last, HubModel, ResidualBlock, check_geometry, default_levels


class G1(HubModel, **HUB_METADATA):
    """Stage-1 generator: (condition image I_A, target pose maps P_B) -> coarse image.

    Defaults reproduce the released network (n = 128, L = log2(H) - 2, a 64-d bottleneck):
    70,795,075 parameters at 128x64 (Market) and 122,103,235 at 256x256 (DeepFashion).

    Args:
        image_height: H of the model geometry (divisible by 2^(levels-1)).
        image_width: W of the model geometry (divisible by 2^(levels-1)).
        pose_channels: channels of the pose input (18 for disk or Gaussian maps).
        image_channels: channels of the condition image and of the output.
        hidden: n, the width of the first level; level i has width n*(i+1).
        levels: number of resolution levels L; None means the released log2(H) - 2.
        bottleneck: size of the fully connected code between encoder and decoder.
    """

    def __init__(
        self,
        image_height: int = 128,
        image_width: int = 64,
        pose_channels: int = 18,
        image_channels: int = 3,
        hidden: int = 128,
        levels: int | None = None,
        bottleneck: int = 64,
    ):
        super().__init__()
        L = levels if levels is not None else default_levels(image_height)
        check_geometry("G1", image_height, image_width, L)
        self.record_config(levels=L)
        self.levels, self.hidden, self.image_size = L, hidden, (image_height, image_width)
        self.low_size = (image_height // 2 ** (L - 1), image_width // 2 ** (L - 1))
        widths = [hidden * (i + 1) for i in range(L)]
        low_area = self.low_size[0] * self.low_size[1]

        # encoder: stem, then per level a residual block (kept as skip) and a stride-2 conv
        self.stem = ConvReLU(image_channels + pose_channels, hidden)
        self.enc_blocks = nn.ModuleList(ResidualBlock(w) for w in widths)
        self.downs = nn.ModuleList(ConvReLU(widths[i], widths[i + 1], stride=2) for i in range(L - 1))
        # bottleneck: flatten -> linear -> code -> linear -> (h x w x n), no activations
        self.fc_in = nn.Linear(low_area * widths[-1], bottleneck)
        self.fc_out = nn.Linear(bottleneck, low_area * hidden)
        # decoder: concat the mirrored skip, residual block, then upsample x2 + conv1x1
        dec_in = [hidden + widths[-1]] + [widths[L - 1 - i] * 2 for i in range(1, L)]
        self.dec_blocks = nn.ModuleList(ResidualBlock(w) for w in dec_in)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), ConvReLU(dec_in[i], widths[L - 2 - i], kernel=1))
            for i in range(L - 1)
        )
        self.out = nn.Conv2d(dec_in[-1], image_channels, 3, padding=1)

    def forward(self, I_A: torch.Tensor, P_B: torch.Tensor) -> torch.Tensor:
        """I_A (B, 3, H, W) and P_B (B, pose_channels, H, W), both in [-1, 1] -> coarse (B, 3, H, W)."""
        x = self.stem(channels_last(torch.cat([I_A, P_B], dim=1)))  # (B, n, H, W)
        skips = []
        for i, block in enumerate(self.enc_blocks):
            x = block(x)
            skips.append(x)
            if i < self.levels - 1:
                x = self.downs[i](x)  # (B, n*(i+2), H/2^(i+1), W/2^(i+1))
        z = self.fc_in(x.flatten(1))  # (B, bottleneck)
        x = channels_last(self.fc_out(z).view(-1, self.hidden, *self.low_size))  # (B, n, h, w)
        for i, block in enumerate(self.dec_blocks):
            x = block(torch.cat([x, skips[self.levels - 1 - i]], dim=1))
            if i < self.levels - 1:
                x = self.ups[i](x)  # (B, n*(L-i-1), 2h, 2w)
        return self.out(x).contiguous()
