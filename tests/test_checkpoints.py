"""The committed demo checkpoints: they load offline, are small, half precision on disk, and deterministic."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT
from pg2_hub import PG2
from pg2_hub.presets import get_preset
from pg2_hub.synthetic import Appearance, render_person

CHECKPOINTS = sorted((ROOT / "checkpoints").glob("pg2-*-demo"))


def test_demo_checkpoints_are_committed_and_small():
    assert {p.name for p in CHECKPOINTS} == {"pg2-deepfashion-demo", "pg2-market-demo"}
    total = sum(f.stat().st_size for p in CHECKPOINTS for f in p.iterdir())
    assert total <= 30 * 2**20, f"checkpoints take {total / 2**20:.1f} MiB, the budget is 30"


@pytest.mark.parametrize("folder", CHECKPOINTS, ids=lambda p: p.name)
def test_checkpoint_loads_and_is_deterministic(folder):
    assert all(t.dtype == torch.float16 for t in load_file(folder / "model.safetensors").values())
    config = json.loads((folder / "config.json").read_text())
    assert config["g2_config"] is not None and config["training_info"]["metrics"]
    card = (folder / "README.md").read_text()
    assert "## Evaluation" in card and "copy I_A" in card and "**Untrained.**" not in card

    pipe = PG2.from_pretrained(folder)
    h, w = pipe.image_size
    rng = np.random.default_rng(0)
    person = render_person(get_preset("standing front", image_size=(h, w)), Appearance.sample(rng))
    target = get_preset("arms raised", image_size=(h, w))
    first = pipe(person, target, output_type="pt")
    again = PG2.from_pretrained(folder)(person, target, output_type="pt")
    assert torch.equal(first.refined, again.refined) and torch.equal(first.coarse, again.coarse)
    assert torch.isfinite(first.refined).all()
    # a trained model draws something image-like: not flat, not the input copied
    assert first.coarse.std() > 0.05
    assert (first.refined[0] - torch.from_numpy(np.array(person)).permute(2, 0, 1) / 127.5 + 1).abs().mean() > 0.01
