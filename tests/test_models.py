"""G1, G2 and D: exact released parameter counts, shapes at every preset, gradient flow, geometry checks."""

from __future__ import annotations

import pytest
import torch

from conftest import TINY_G1, TINY_G2
from pg2_hub import G1, G2, PRESETS, Discriminator


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("preset, expected", [("market", 70_795_075), ("deepfashion", 122_103_235)])
def test_g1_released_parameter_count(preset, expected):
    assert n_params(G1(**PRESETS[preset])) == expected


def test_released_levels_follow_image_height():
    assert G1(**PRESETS["market"]).levels == 5 and G1(**PRESETS["deepfashion"]).levels == 6
    assert G2(**PRESETS["market"]).levels == 3 and G2(**PRESETS["deepfashion"]).levels == 4
    # the released Market G2 drops the full-resolution skip, DeepFashion keeps it
    assert not G2(**PRESETS["market"]).skip_first_level and G2(**PRESETS["deepfashion"]).skip_first_level


@pytest.mark.parametrize("size, levels", [((128, 64), None), ((256, 256), None), ((256, 176), 5), ((64, 32), 3), ((96, 48), 2)])
def test_output_shapes(size, levels):
    h, w = size
    g1 = G1(image_height=h, image_width=w, hidden=4, levels=levels, bottleneck=8)
    g2 = G2(image_height=h, image_width=w, hidden=4, levels=levels and max(levels - 2, 1))
    d = Discriminator(image_height=h, image_width=w, base_width=4, num_layers=min(4, (levels or 5) + 1) if h < 128 else None)
    I_A, P_B = torch.randn(2, 3, h, w), torch.randn(2, 18, h, w)
    with torch.no_grad():
        coarse = g1(I_A, P_B)
        assert coarse.shape == (2, 3, h, w)
        assert g2(coarse, I_A).shape == (2, 3, h, w)
        assert d(coarse).shape == (2,)


def test_discriminator_layers_per_preset():
    convs = lambda d: sum(isinstance(m, torch.nn.Conv2d) for m in d.modules())
    assert convs(Discriminator(**PRESETS["market"])) == 4
    assert convs(Discriminator(**PRESETS["deepfashion"])) == 5
    widths = [m.out_channels for m in Discriminator(**PRESETS["deepfashion"]).modules() if isinstance(m, torch.nn.Conv2d)]
    assert widths == [64, 128, 256, 512, 512]


def test_pair_discriminator_needs_the_condition():
    d = Discriminator(64, 32, in_channels=6, base_width=4, num_layers=3)
    x = torch.randn(2, 3, 64, 32)
    assert d(x, condition=x).shape == (2,)
    with pytest.raises(ValueError, match="pass the condition image"):
        d(x)


@pytest.mark.parametrize("bad", [dict(image_height=100, image_width=64), dict(image_height=128, image_width=60), dict(image_height=0, image_width=64)])
def test_geometry_that_cannot_be_halved_is_rejected(bad):
    with pytest.raises(ValueError, match="divisible by"):
        G1(**bad, levels=5)


@pytest.mark.parametrize("make", [
    lambda: (G1(**TINY_G1), (torch.randn(2, 3, 64, 32), torch.randn(2, 18, 64, 32))),
    lambda: (G2(**TINY_G2, skip_first_level=True), (torch.randn(2, 3, 64, 32), torch.randn(2, 3, 64, 32))),
    lambda: (G2(**TINY_G2, skip_first_level=False), (torch.randn(2, 3, 64, 32), torch.randn(2, 3, 64, 32))),
    lambda: (Discriminator(64, 32, base_width=4, num_layers=3), (torch.randn(2, 3, 64, 32),)),
    lambda: (Discriminator(64, 32, in_channels=6, base_width=4, num_layers=3), (torch.randn(2, 3, 64, 32), torch.randn(2, 3, 64, 32))),
], ids=["G1", "G2-skip", "G2-noskip", "D-released", "D-pair"])
def test_backward_reaches_every_parameter(make):
    torch.manual_seed(0)
    model, inputs = make()
    model.train()
    model(*inputs).square().mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"


def test_config_is_complete_and_rebuilds_the_same_model():
    g1 = G1(**TINY_G1)
    cfg = g1._hub_mixin_config
    assert set(cfg) == {"image_height", "image_width", "pose_channels", "image_channels", "hidden", "levels", "bottleneck"}
    assert n_params(G1(**cfg)) == n_params(g1)
    g2 = G2(image_height=64, image_width=32, hidden=8)  # levels and skip resolved into the config
    assert g2._hub_mixin_config["levels"] == 2 and g2._hub_mixin_config["skip_first_level"] is False


def test_hub_metadata_is_declared_on_the_classes():
    for cls in (G1, G2, Discriminator):
        data = cls._hub_mixin_info.model_card_data
        assert data.library_name == "pg2-hub" and data.pipeline_tag == "image-to-image"
        assert "pose-transfer" in data.tags
        assert cls._hub_mixin_info.paper_url.endswith("1705.09368")
