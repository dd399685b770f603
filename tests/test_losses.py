"""Golden values and gradient flow of the PG2 losses (pg2_hub/losses.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pg2_hub import Discriminator, losses


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


class MeanD(torch.nn.Module):
    """A stand-in D whose logit is the mean of its input (and counts its calls)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, image, condition=None):
        self.calls.append((image.shape[0], condition is not None))
        x = image if condition is None else image + condition
        return x.flatten(1).mean(1)


def test_pose_mask_l1_golden():
    fake, target = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2, :] = 1  # half the pixels
    # |diff| = 1 everywhere: mean 1, masked mean 0.5
    assert losses.pose_mask_l1(fake, target, mask).item() == pytest.approx(1.5)
    assert losses.reconstruction_loss(fake, target, mask, "pose_mask").item() == pytest.approx(1.5)
    assert losses.reconstruction_loss(fake, target, mask, "l1").item() == pytest.approx(1.0)
    # equals the (1 + M)-weighted L1
    fake = torch.randn(2, 3, 4, 4)
    weighted = ((fake - target).abs() * (1 + mask)).mean()
    torch.testing.assert_close(losses.pose_mask_l1(fake, target, mask), weighted)


def test_reconstruction_loss_rejects_unknown_kind():
    with pytest.raises(ValueError, match="pose_mask"):
        losses.reconstruction_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), "l2")


def test_released_discriminator_loss_weights():
    B = 3
    I_B, fake_B, I_A = torch.ones(B, 3, 4, 4), -torch.ones(B, 3, 4, 4), torch.zeros(B, 3, 4, 4)
    D = MeanD()
    real, fake, cond = losses.discriminate(D, I_A, I_B, fake_B, "released")
    assert D.calls == [(3 * B, False)], "released D must see real, fake and condition in one batch"
    assert real.tolist() == [1.0] * B and fake.tolist() == [-1.0] * B and cond.tolist() == [0.0] * B
    loss_D = losses.discriminator_loss(real, fake, cond)
    # 0.5 BCE(real=1 logit, 1) + 0.25 BCE(fake=-1 logit, 0) + 0.25 BCE(cond=0 logit, 0)
    expected = 0.5 * softplus(-1) + 0.25 * softplus(-1) + 0.25 * math.log(2)
    assert loss_D.item() == pytest.approx(expected, rel=1e-6)
    assert losses.generator_adversarial_loss(fake).item() == pytest.approx(softplus(1), rel=1e-6)


def test_released_weights_equal_the_deepfashion_formulation():
    """Released DeepFashion code: fakes = [G2; condition], (BCE(fakes, 0) + BCE(real, 1)) / 2."""
    real, fake, cond = torch.randn(4), torch.randn(4), torch.randn(4)
    fakes = torch.cat([fake, cond])
    df = (F.binary_cross_entropy_with_logits(fakes, torch.zeros(8))
          + F.binary_cross_entropy_with_logits(real, torch.ones(4))) / 2
    torch.testing.assert_close(losses.discriminator_loss(real, fake, cond), df)


def test_pair_discriminator_sees_condition_pairs():
    B = 2
    D = MeanD()
    I_A, I_B, fake_B = torch.full((B, 3, 2, 2), 0.5), torch.ones(B, 3, 2, 2), -torch.ones(B, 3, 2, 2)
    real, fake, cond = losses.discriminate(D, I_A, I_B, fake_B, "pair")
    assert cond is None and D.calls == [(2 * B, True)]
    assert real.tolist() == [1.5] * B and fake.tolist() == [-0.5] * B
    expected = 0.5 * (softplus(-1.5) + softplus(-0.5))
    assert losses.discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="released"):
        losses.discriminate(D, I_A, I_B, fake_B, "patch")


@pytest.mark.parametrize("variant,channels", [("released", 3), ("pair", 6)])
def test_gradients_reach_d_and_the_generator(variant, channels):
    torch.manual_seed(0)
    D = Discriminator(32, 16, in_channels=channels, base_width=4)
    I_A, I_B = torch.randn(2, 3, 32, 16), torch.randn(2, 3, 32, 16)
    fake_B = torch.randn(2, 3, 32, 16, requires_grad=True)
    loss_D = losses.discriminator_loss(*losses.discriminate(D, I_A, I_B, fake_B.detach(), variant))
    loss_D.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    assert fake_B.grad is None
    _, fake, _ = losses.discriminate(D, I_A, I_B, fake_B, variant)
    losses.generator_adversarial_loss(fake).backward()
    assert fake_B.grad is not None and fake_B.grad.abs().sum() > 0
