"""PG2 losses: the (pose-mask) L1 of both stages and the DCGAN adversarial losses (spec section 4).

Names follow the paper: I_A condition image, I_B target image, M_B target pose mask, fake_B a
generated image (G1 output in stage 1, G1 + G2 difference map in stage 2). All images in [-1, 1].

Two discriminator variants (spec section 3):
- "released": D sees single images; real = I_B, fakes = the generated image AND the condition image
  I_A, weighted 0.5 / 0.25 / 0.25. The released code writes this two ways (Market: explicit weights;
  DeepFashion: fakes = [G2; I_A] averaged, then (fake + real) / 2), which are the same number.
- "pair" (paper): D sees (I_A, image) pairs; real = (I_A, I_B), fake = (I_A, fake_B).
D runs once over real and fake images together, as in the released code, so its batch norm
normalises them with shared batch statistics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RECONSTRUCTION_LOSSES = ("pose_mask", "l1")
DISCRIMINATORS = ("released", "pair")


def pose_mask_l1(fake_B: torch.Tensor, I_B: torch.Tensor, M_B: torch.Tensor) -> torch.Tensor:
    """The pose mask loss: mean|fake_B - I_B| + mean(|fake_B - I_B| * M_B), i.e. an L1 weighted by (1 + M_B).

    Args:
        fake_B: (B, 3, H, W) generated image.
        I_B: (B, 3, H, W) target image.
        M_B: (B, 1, H, W) target pose mask in {0, 1} (broadcast over the colour channels).
    """
    diff = (fake_B - I_B).abs()  # (B, 3, H, W)
    return diff.mean() + (diff * M_B).mean()


def reconstruction_loss(fake_B: torch.Tensor, I_B: torch.Tensor, M_B: torch.Tensor, kind: str = "pose_mask") -> torch.Tensor:
    """The L1 term of either stage: "pose_mask" (PG2, `pose_mask_l1`) or "l1" (plain, Table 1 row G1-L1).

    Args:
        fake_B: (B, 3, H, W) generated image.
        I_B: (B, 3, H, W) target image.
        M_B: (B, 1, H, W) target pose mask (unused by "l1").
        kind: "pose_mask" or "l1".
    """
    if kind == "pose_mask":
        return pose_mask_l1(fake_B, I_B, M_B)
    if kind == "l1":
        return (fake_B - I_B).abs().mean()
    raise ValueError(f"loss must be one of {RECONSTRUCTION_LOSSES}, got {kind!r}")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean sigmoid cross-entropy of `logits` against a constant label (1 real, 0 fake)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminate(
    D: nn.Module, I_A: torch.Tensor, I_B: torch.Tensor, fake_B: torch.Tensor, variant: str = "released"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Run D once over real and fake inputs; return the logits of (real, fake, condition-as-fake).

    Args:
        D: the discriminator (3 input channels for "released", 6 for "pair").
        I_A: (B, 3, H, W) condition images.
        I_B: (B, 3, H, W) target (real) images.
        fake_B: (B, 3, H, W) generated images; detach them for the D step.
        variant: "released" or "pair".

    Returns:
        (real, fake, condition) logits, each (B,); condition is None for "pair".
    """
    B = I_B.shape[0]
    if variant == "released":
        logits = D(torch.cat([I_B, fake_B, I_A]))  # (3B,)
        return logits[:B], logits[B:2 * B], logits[2 * B:]
    if variant == "pair":
        logits = D(torch.cat([I_B, fake_B]), torch.cat([I_A, I_A]))  # (2B,)
        return logits[:B], logits[B:], None
    raise ValueError(f"discriminator must be one of {DISCRIMINATORS}, got {variant!r}")


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
    """loss_D from the logits of `discriminate`.

    Released: 0.5 * BCE(real, 1) + 0.25 * BCE(fake, 0) + 0.25 * BCE(condition, 0).
    Pair (condition is None): 0.5 * (BCE(real, 1) + BCE(fake, 0)).
    """
    if condition is None:
        return 0.5 * (_bce(real, 1.0) + _bce(fake, 0.0))
    return 0.5 * _bce(real, 1.0) + 0.25 * _bce(fake, 0.0) + 0.25 * _bce(condition, 0.0)


def generator_adversarial_loss(fake: torch.Tensor) -> torch.Tensor:
    """loss_G_adv = BCE(D(fake_B), 1), the non-saturating DCGAN generator loss."""
    return _bce(fake, 1.0)
