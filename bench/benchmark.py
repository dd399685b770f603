"""Benchmark PG2: inference latency, training throughput, peak memory and achieved FLOP/s.

For the Market and DeepFashion presets at paper width and at demo width, on CPU (and CUDA when
present), in float32 and in the bfloat16 fast path (autocast + channels_last):
- G1, G2 and full-pipeline (PIL in, PIL out) latency, median of repeated runs, batch 1 and 8;
- stage-1 (G1) and stage-2 (G2 + D, G1 frozen) training steps per second and samples per second;
- peak memory (resident set size on CPU, max allocated on CUDA);
- achieved FLOP/s as a fraction of this process's own large-matmul FLOP/s in the same dtype, measured
  right before and after each latency row (the better of the two): on a shared VM the machine's speed
  drifts by 2x within minutes, so one yardstick taken at the start can be far off for later rows.

Writes JSON and a markdown table under --out and prints the table.

    python bench/benchmark.py                 # everything (tens of minutes on 2 CPU cores)
    python bench/benchmark.py --quick         # demo widths, few repeats (CI smoke, about a minute)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import psutil
import torch
from torch.utils.flop_counter import FlopCounterMode

from pg2_hub import G1, G2, PG2, PRESETS, Discriminator, Pose
from pg2_hub.pipeline import bf16_is_fast
from pg2_hub.losses import discriminate, discriminator_loss, generator_adversarial_loss, pose_mask_l1

#: name -> (G1 kwargs, G2 kwargs, training batch). Demo widths are what the committed demo models use.
CONFIGS = {
    "market-paper": (dict(**PRESETS["market"]), dict(**PRESETS["market"]), 16),
    "market-demo": (dict(**PRESETS["market"], hidden=32), dict(**PRESETS["market"], hidden=32), 16),
    "deepfashion-paper": (dict(**PRESETS["deepfashion"]), dict(**PRESETS["deepfashion"]), 1),
    "deepfashion-demo": (dict(image_height=256, image_width=176, hidden=32, levels=5),
                         dict(image_height=256, image_width=176, hidden=32, levels=3, skip_first_level=True), 8),
}


# ---- measuring ----------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory of a block: max allocated on CUDA, sampled resident set size on CPU (MiB)."""

    def __init__(self, device: torch.device):
        self.device, self.peak = device, 0.0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self._stop, proc = threading.Event(), psutil.Process()
        self.peak = proc.memory_info().rss

        def sample():
            while not self._stop.wait(0.005):
                self.peak = max(self.peak, proc.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            self._thread.join()
        self.peak /= 2**20


def median_seconds(fn, device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median wall time of fn() over `repeats` runs after `warmup` runs."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_flops(device: torch.device, dtype: torch.dtype, quick: bool) -> float:
    """This process's large-matmul rate in FLOP/s (the yardstick for achieved FLOP/s)."""
    n = 4096 if device.type == "cuda" else (1024 if quick else 2048)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    seconds = median_seconds(lambda: a @ b, device, repeats=3 if quick else 7)
    return 2 * n**3 / seconds


def count_flops(fn) -> int:
    """FLOPs of one call (convolutions and matmuls, counted by torch's FlopCounterMode)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


# ---- workloads ----------------------------------------------------------------------------------
def example_inputs(h: int, w: int, batch: int, device: torch.device, seed: int = 0):
    """Random I_A, P_B, I_B, M_B tensors in model geometry (values do not affect speed)."""
    g = torch.Generator().manual_seed(seed)
    I_A = torch.rand(batch, 3, h, w, generator=g) * 2 - 1
    I_B = torch.rand(batch, 3, h, w, generator=g) * 2 - 1
    P_B = (torch.rand(batch, 18, h, w, generator=g) > 0.98).float() * 2 - 1
    M_B = (torch.rand(batch, 1, h, w, generator=g) > 0.7).float()
    return [t.to(device) for t in (I_A, P_B, I_B, M_B)]


def example_person(h: int, w: int) -> tuple[np.ndarray, Pose]:
    rng = np.random.default_rng(0)
    kp = np.array([[0.5, 0.12], [0.5, 0.2], [0.35, 0.2], [0.3, 0.35], [0.28, 0.48], [0.65, 0.2], [0.7, 0.35],
                   [0.72, 0.48], [0.4, 0.5], [0.4, 0.7], [0.4, 0.9], [0.6, 0.5], [0.6, 0.7], [0.6, 0.9],
                   [0.47, 0.1], [0.53, 0.1], [0.44, 0.11], [0.56, 0.11]]) * [w, h]
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), Pose.from_array(kp, image_size=(h, w))


def bench_inference(name, pipe: PG2, device, precision, batches, repeats, yardstick) -> list[dict]:
    """Latency rows; `yardstick()` measures the large-matmul FLOP/s now (taken around every row)."""
    h, w = pipe.image_size
    pipe.autocast_bf16 = precision == "bf16"
    I_A, P_B, _, _ = example_inputs(h, w, 1, device)
    with torch.inference_mode():
        f1 = count_flops(lambda: pipe.g1(I_A, P_B))
        coarse = pipe.g1(I_A, P_B)
        f2 = count_flops(lambda: pipe.g2(coarse, I_A))
    image, pose = example_person(h, w)
    rows = []
    for batch in batches:
        I_A, P_B, _, _ = example_inputs(h, w, batch, device)
        peak_before = yardstick()
        with torch.inference_mode(), autocast(device, precision):
            coarse = pipe.g1(I_A, P_B)
            t_g1 = median_seconds(lambda: pipe.g1(I_A, P_B), device, repeats)
            t_g2 = median_seconds(lambda: pipe.g2(coarse, I_A), device, repeats)
        with PeakMemory(device) as mem:
            t_pipe = median_seconds(lambda: pipe([image] * batch, [pose] * batch, batch_size=batch), device, repeats)
        peak_flops = max(peak_before, yardstick())
        flops = (f1 + f2) * batch
        rows.append(dict(config=name, device=device.type, precision=precision, batch=batch,
                         gflop_per_image=round((f1 + f2) / 1e9, 2), g1_s=t_g1, g2_s=t_g2, pipeline_s=t_pipe,
                         achieved_tflops=flops / (t_g1 + t_g2) / 1e12,
                         matmul_tflops=peak_flops / 1e12, fraction_of_matmul=flops / (t_g1 + t_g2) / peak_flops,
                         peak_mem_mib=mem.peak))
        print(f"  {name} {device.type} {precision} batch {batch}: G1 {t_g1:.4f}s G2 {t_g2:.4f}s pipeline {t_pipe:.4f}s "
              f"({rows[-1]['fraction_of_matmul']:.0%} of matmul at {peak_flops / 1e12:.3f} TFLOP/s)", flush=True)
    return rows


def bench_training(name, g1_kwargs, g2_kwargs, batch, device, precision, repeats) -> list[dict]:
    """Steps of both stages as train/stage1.py and stage2.py run them: forward, loss, backward, Adam."""
    h, w = g1_kwargs["image_height"], g1_kwargs["image_width"]
    I_A, P_B, I_B, M_B = example_inputs(h, w, batch, device)
    g1 = G1(**g1_kwargs).to(device).train()
    opt_g1 = torch.optim.Adam(g1.parameters(), lr=2e-5, betas=(0.5, 0.999))

    def stage1_step():
        with autocast(device, precision):
            loss = pose_mask_l1(g1(I_A, P_B).float(), I_B, M_B)
        opt_g1.zero_grad(set_to_none=True)
        loss.backward()
        opt_g1.step()

    g2 = G2(**g2_kwargs).to(device).train()
    D = Discriminator(h, w).to(device).train()
    opt_g2 = torch.optim.Adam(g2.parameters(), lr=2e-5, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-5, betas=(0.5, 0.999))

    def stage2_step():
        with autocast(device, precision):
            with torch.no_grad():
                coarse = g1(I_A, P_B)  # G1 frozen
            fake_B = (coarse + g2(coarse, I_A)).float()
            loss_D = discriminator_loss(*discriminate(D, I_A, I_B, fake_B.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_D.backward()
        opt_d.step()
        with autocast(device, precision):
            _, fake, _ = discriminate(D, I_A, I_B, fake_B)
            loss_G = generator_adversarial_loss(fake) + 10 * pose_mask_l1(fake_B, I_B, M_B)
        opt_g2.zero_grad(set_to_none=True)
        loss_G.backward()
        opt_g2.step()

    rows = []
    for stage, step in (("stage1", stage1_step), ("stage2", stage2_step)):
        with PeakMemory(device) as mem:
            seconds = median_seconds(step, device, repeats, warmup=1)
        rows.append(dict(config=name, device=device.type, precision=precision, stage=stage, batch=batch,
                         steps_per_s=1 / seconds, samples_per_s=batch / seconds, peak_mem_mib=mem.peak))
        print(f"  {name} {device.type} {precision} {stage} batch {batch}: {batch / seconds:.2f} samples/s", flush=True)
    return rows


# ---- report -------------------------------------------------------------------------------------
def markdown(results: dict) -> str:
    lines = [f"Benchmark {results['when']} on {results['machine']}, torch {results['torch']}, "
             f"{results['threads']} CPU threads.", "",
             "| config | device | precision | batch | GFLOP/img | G1 s | G2 s | pipeline s | matmul TFLOP/s | % of matmul | peak MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["inference"]:
        lines.append(f"| {r['config']} | {r['device']} | {r['precision']} | {r['batch']} | {r['gflop_per_image']} | "
                     f"{r['g1_s']:.4f} | {r['g2_s']:.4f} | {r['pipeline_s']:.4f} | {r['matmul_tflops']:.3f} | {r['fraction_of_matmul']:.0%} | "
                     f"{r['peak_mem_mib']:.0f} |")
    lines += ["", "| config | device | precision | stage | batch | steps/s | samples/s | peak MiB |", "|---|---|---|---|---|---|---|---|"]
    for r in results["training"]:
        lines.append(f"| {r['config']} | {r['device']} | {r['precision']} | {r['stage']} | {r['batch']} | "
                     f"{r['steps_per_s']:.3f} | {r['samples_per_s']:.2f} | {r['peak_mem_mib']:.0f} |")
    lines += ["", "| device | precision | best large-matmul TFLOP/s seen |", "|---|---|---|"]
    lines += [f"| {k.split('/')[0]} | {k.split('/')[1]} | {v / 1e12:.3f} |" for k, v in results["matmul_flops"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Market demo width, batch 1, 1 repeat (smoke test)")
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), help="default: all (quick: the demo ones)")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda is skipped when absent")
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"],
                        help="default: fp32, plus bf16 where it is native (CUDA, AVX-512 BF16 / AMX CPUs)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 5, quick 2)")
    parser.add_argument("--batches", nargs="+", type=int, help="inference batch sizes (default 1 8, quick 1)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's default)")
    parser.add_argument("--no-training", action="store_true", help="skip the training-step measurements")
    parser.add_argument("--layout", choices=["channels_last", "nchw"], default="channels_last",
                        help="activation layout; nchw reproduces the code before the channels_last change")
    parser.add_argument("--out", default="bench/results", help="folder for benchmark.json and benchmark.md")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.layout == "nchw":  # the "before" of the channels_last optimisation, for comparison
        import pg2_hub.models.discriminator, pg2_hub.models.g1, pg2_hub.models.g2

        for module in (pg2_hub.models.g1, pg2_hub.models.g2, pg2_hub.models.discriminator):
            module.channels_last = lambda x: x.contiguous()
    configs = args.configs or (["market-demo"] if args.quick else list(CONFIGS))
    repeats = args.repeats or (1 if args.quick else 5)
    batches = args.batches or ([1] if args.quick else [1, 8])
    devices = [torch.device(d) for d in args.devices if d != "cuda" or torch.cuda.is_available()]
    results = dict(when=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   machine=f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip(),
                   cpu_capability=torch.backends.cpu.get_cpu_capability(), torch=torch.__version__,
                   threads=torch.get_num_threads(), quick=args.quick, layout=args.layout, matmul_flops={}, inference=[], training=[])
    if torch.cuda.is_available():
        results["gpu"] = torch.cuda.get_device_name()

    for device in devices:
        for precision in args.precisions or (["fp32", "bf16"] if bf16_is_fast(device) else ["fp32"]):
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            key = f"{device.type}/{precision}"
            results["matmul_flops"][key] = 0.0

            def yardstick(device=device, dtype=dtype, key=key) -> float:
                rate = matmul_flops(device, dtype, args.quick)
                results["matmul_flops"][key] = max(results["matmul_flops"][key], rate)  # the best seen
                return rate

            for name in configs:
                g1_kwargs, g2_kwargs, train_batch = CONFIGS[name]
                torch.manual_seed(0)
                pipe = PG2(g1_config=g1_kwargs, g2_config=g2_kwargs, background=[255, 255, 255]).to(device).eval()
                results["inference"] += bench_inference(name, pipe, device, precision, batches, repeats, yardstick)
                del pipe
                if not args.no_training:
                    batch = min(train_batch, 2) if args.quick else train_batch
                    results["training"] += bench_training(name, g1_kwargs, g2_kwargs, batch, device, precision,
                                                          1 if args.quick else 3)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (out / "benchmark.md").write_text(table)
    print("\n" + table)
    print(f"wrote {out / 'benchmark.json'} and {out / 'benchmark.md'}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
