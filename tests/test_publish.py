"""train/publish.py fills an export's config and card without touching its weights."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from conftest import ROOT, TINY_G1, TINY_G2
from pg2_hub import PG2

sys.path.insert(0, str(ROOT / "train"))
import publish  # noqa: E402


def test_publish_fills_config_and_card(tmp_path):
    torch.manual_seed(0)
    PG2(g1_config=TINY_G1, g2_config=TINY_G2).save_pretrained(tmp_path)
    weights = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "table.md").write_text("| model | SSIM |\n|---|---|\n| demo | 0.5 |\n")
    publish.main([str(tmp_path), "--name", "demo", "--set", "dataset=Synthetic people", "--set", "steps=12",
                  "--metrics", str(tmp_path / "table.md")])
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_name"] == "demo" and config["training_info"]["dataset"] == "Synthetic people"
    card = (tmp_path / "README.md").read_text()
    assert "# demo" in card and "| demo | 0.5 |" in card and "- Synthetic people" in card and "Untrained" not in card
    assert (tmp_path / "model.safetensors").read_bytes() == weights


def test_publish_rejects_a_malformed_fact(tmp_path):
    PG2(g1_config=TINY_G1).save_pretrained(tmp_path)
    with pytest.raises(SystemExit):
        publish.main([str(tmp_path), "--set", "no-equals-sign"])
