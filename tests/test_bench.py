"""The benchmark runs in quick mode and writes its JSON and markdown (numbers are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_benchmark_quick_mode_writes_results(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "benchmark.py"), "--quick", "--devices", "cpu", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "benchmark.json").read_text())
    assert data["quick"] and data["matmul_flops"]["cpu/fp32"] > 0
    (inference,) = data["inference"]
    assert inference["config"] == "market-demo" and inference["pipeline_s"] > 0 and inference["gflop_per_image"] > 0
    # the fraction is taken against the matmul rate measured around the row, and the best rate seen is reported
    assert inference["fraction_of_matmul"] == pytest.approx(inference["achieved_tflops"] / inference["matmul_tflops"])
    assert data["matmul_flops"]["cpu/fp32"] >= inference["matmul_tflops"] * 1e12 * (1 - 1e-9)
    assert {r["stage"] for r in data["training"]} == {"stage1", "stage2"}
    assert all(r["samples_per_s"] > 0 and r["peak_mem_mib"] > 0 for r in data["training"])
    table = (tmp_path / "benchmark.md").read_text()
    assert "| market-demo | cpu | fp32 | 1 |" in table
