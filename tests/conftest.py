"""Shared test setup: offline Hub, the shared real data, and tiny model configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the tests may reach the network: the Hub is offline for every test.
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PG2_SHARED_DATA", ROOT.parent / "shared" / "data"))

#: Tiny geometry/widths so every test runs in seconds on a CPU.
TINY_G1 = dict(image_height=64, image_width=32, hidden=8, levels=3, bottleneck=16)
TINY_G2 = dict(image_height=64, image_width=32, hidden=8, levels=2)


@pytest.fixture
def shared_data() -> Path:
    """The real annotated images in ../shared/data (skips with the reason when absent)."""
    if not (SHARED_DATA / "market").is_dir():
        pytest.skip(f"shared real data not found at {SHARED_DATA} (set PG2_SHARED_DATA); .ci/run requires it")
    return SHARED_DATA
