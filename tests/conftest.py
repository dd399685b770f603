"""Shared test setup: offline Hub, the shared real data, and tiny model configs."""

from __future__ import annotations

import os
import urllib.error
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


# ---- the Gradio app (tests/test_app.py, tests/test_browser.py) ----


@pytest.fixture(scope="session")
def pg2_app(tmp_path_factory):
    """app.py served on 127.0.0.1 (free port) with a tiny random PG2 and a stand-in pose detector.

    The real OpenPose weights cannot be downloaded in tests, so "pose from a photo" uses a detector
    that returns a constructed controlnet-aux result (converted by pg2_hub.detect.best_pose); a
    near-black photo counts as "no person". Yields a namespace with url, demo, info and examples.
    """
    import socket
    import sys
    from types import SimpleNamespace

    import numpy as np
    import torch

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.path.insert(0, str(ROOT))
    import app
    from pg2_hub import PG2
    from pg2_hub.detect import best_pose
    from pg2_hub.presets import PRESET_SIZE, get_preset

    class StandInDetector:
        def detect(self, image):
            if np.asarray(image).max() < 16:
                return best_pose([], (image.height, image.width))  # raises NoPersonFoundError
            kp = get_preset("arms out").keypoints / [PRESET_SIZE[1], PRESET_SIZE[0]]  # normalised
            body = SimpleNamespace(total_score=20.0, keypoints=[
                SimpleNamespace(x=float(x), y=float(y), score=0.9) for x, y in kp])
            return best_pose([SimpleNamespace(body=body)], (image.height, image.width))

    torch.manual_seed(0)
    pipe = PG2(g1_config=dict(TINY_G1), g2_config=dict(TINY_G2), model_name="pg2-tiny-test").eval()
    info = app.describe_model(pipe, "tests: random init")
    examples = app.example_people(tmp_path_factory.mktemp("examples"))
    demo = app.build_demo(pipe, info, openpose=StandInDetector(), examples=examples)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                        show_error=True)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", demo=demo, info=info, examples=examples, app=app)
    finally:
        demo.close()


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """An empty torch hub cache and downloads that fail as they do without network; yields the cache dir."""
    import torch

    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))

    def no_network(url, dst, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    yield tmp_path / "hub"
    torch.hub.set_dir(old)
