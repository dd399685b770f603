"""train/stage1.py and train/stage2.py end to end on tiny models: config, smoke runs on synthetic and
real data, exact resume, atomic checkpoints, NaN stop, an overfit, ablations and a 2-process launch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "train"))
import common  # noqa: E402
import stage1  # noqa: E402
import stage2  # noqa: E402

from pg2_hub import G1, PG2, losses  # noqa: E402
from pg2_hub.synthetic import make_synthetic_dataset  # noqa: E402

#: A tiny model at 32x16 that trains in milliseconds per step.
TINY = ["--image-height", "32", "--image-width", "16", "--hidden", "8", "--bottleneck", "8", "--d-base-width", "4",
        "--batch-size", "2", "--num-samples", "2", "--log-every", "1"]


@pytest.fixture(autouse=True)
def _one_thread_and_fresh_accelerate_state():
    """Tiny models run fastest on one thread; each run builds its own Accelerator."""
    from accelerate.state import AcceleratorState

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)  # --deterministic sets it for the whole process
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """4 synthetic people x 2 poses = 8 pairs at 32x16."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("data"), image_size=(32, 16), people={"train": 4},
                                  poses_per_person=2, seed=0)


def train(stage: int, out: Path, *args: str) -> common.Run:
    cfg = common.parse_config(stage, [*TINY, "--out", str(out), *args])
    return (stage1 if stage == 1 else stage2).main(cfg)


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def stage1_run(tmp_path_factory, tiny_data) -> Path:
    from accelerate.state import AcceleratorState

    out = tmp_path_factory.mktemp("stage1")
    train(1, out, "--data", str(tiny_data), "--max-steps", "2")
    AcceleratorState._reset_state(reset_partial_state=True)
    return out


# ---- configuration --------------------------------------------------------------------------------


def test_config_layers_defaults_preset_file_and_command_line(tmp_path):
    cfg = common.parse_config(1, [])
    assert (cfg.preset, cfg.max_steps, cfg.batch_size, cfg.lr, cfg.lambda_l1) == ("market", 22000, 16, 2e-5, 10.0)
    assert (cfg.image_height, cfg.image_width, cfg.out) == (128, 64, "runs/market/stage1")
    cfg = common.parse_config(2, ["--preset", "deepfashion"])
    assert (cfg.max_steps, cfg.batch_size, cfg.lambda_l1, cfg.image_height, cfg.image_width) == (58000, 1, 50.0, 256, 256)
    assert cfg.lr_halve_at == [28000] and cfg.g2_skip_first_level and cfg.g1 == "runs/deepfashion/stage1"
    file = tmp_path / "my.yaml"
    file.write_text("lr: 2e-4\nhidden: 32\nflip: false\nstage2:\n  max_steps: 7\n")
    cfg = common.parse_config(2, ["--config", str(file), "--hidden", "16", "--lr-halve-at", "3", "5", "--g1", "none"])
    assert (cfg.lr, cfg.hidden, cfg.flip, cfg.max_steps, cfg.lr_halve_at) == (2e-4, 16, False, 7, [3, 5])
    assert cfg.g1 == "runs/market/stage1", "none falls back to the derived default"
    cfg = common.parse_config(1, ["--dry-run", "--tensorboard", "--no-flip", "--synthetic_size", "64", "32"])
    assert (cfg.max_steps, cfg.tensorboard, cfg.flip, cfg.synthetic_size) == (2, True, False, [64, 32])


def test_config_errors_are_clear(tmp_path, capsys):
    file = tmp_path / "bad.yaml"
    file.write_text("learning_rate: 1e-4\n")
    with pytest.raises(SystemExit, match=r"unknown keys \['learning_rate'\]. Valid keys: data, split"):
        common.parse_config(1, ["--config", str(file)])
    with pytest.raises(SystemExit):
        common.parse_config(1, ["--learning-rate", "1"])
    assert "unrecognized arguments: --learning-rate" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="choose one of"):
        common.parse_config(1, ["--loss", "l2"])
    with pytest.raises(SystemExit, match="not a valid int"):
        common.parse_config(1, ["--hidden", "wide"])
    with pytest.raises(SystemExit, match="preset"):
        common.parse_config(1, ["--preset", "celeba"])


# ---- smoke runs ---------------------------------------------------------------------------------------


def test_stage1_and_stage2_smoke_on_synthetic(tmp_path, stage1_run):
    out1 = stage1_run
    assert yaml.safe_load((out1 / "config.yaml").read_text())["hidden"] == 8
    assert [r["step"] for r in records(out1)] == [1, 2, 2] and "loss_G1_L1" in records(out1)[0]
    assert (out1 / "samples" / "step_00000002.png").is_file()
    assert common.latest_checkpoint(out1 / "checkpoints").name == "step_00000002"
    pipe = PG2.from_pretrained(out1 / "export")
    assert pipe.g2 is None and pipe.image_size == (32, 16)

    out2 = tmp_path / "stage2"
    train(2, out2, "--g1", str(out1), "--max-steps", "2", "--synthetic-people", "2")
    assert {"loss_D", "loss_G2_adv", "loss_G2_L1", "loss_G2"} <= set(records(out2)[0])
    assert (out2 / "data" / "synthetic.json").is_file(), "no --data: synthetic people in the run folder"
    pipe = PG2.from_pretrained(out2 / "export")
    assert pipe.g2 is not None
    torch.testing.assert_close(pipe.g1.state_dict(), PG2.from_pretrained(out1 / "export").g1.state_dict())
    grid = Image.open(out2 / "samples" / "step_00000002.png")
    assert grid.size == (5 * 16, 2 * 32), "[I_A | P_B | G1 | G2 | I_B] x num_samples"


def test_dry_run_from_a_checkpoint_g1(tmp_path, stage1_run):
    run = train(2, tmp_path / "dry", "--g1", str(stage1_run / "checkpoints" / "step_00000002"), "--dry-run",
                "--push-to-hub", "someone/never-pushed", "--tensorboard")
    assert run.step == 2 and (tmp_path / "dry" / "export" / "model.safetensors").is_file()
    assert list((tmp_path / "dry" / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("dataset,size", [("market", ("32", "16")), ("deepfashion", ("32", "32"))])
def test_both_stages_on_shared_real_data(tmp_path, shared_data, dataset, size):
    geometry = ["--preset", dataset, "--image-height", size[0], "--image-width", size[1], "--data", str(shared_data / dataset)]
    train(1, tmp_path / "s1", *geometry, "--max-steps", "2")
    assert records(tmp_path / "s1")[0]["loss_G1_L1"] > 0
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    train(2, tmp_path / "s2", *geometry, "--g1", str(tmp_path / "s1"), "--max-steps", "2")
    assert PG2.from_pretrained(tmp_path / "s2" / "export").image_size == (int(size[0]), int(size[1]))


def test_stage2_refuses_a_mismatched_g1(tmp_path, stage1_run):
    with pytest.raises(SystemExit, match="use the same --preset"):
        train(2, tmp_path / "s2", "--g1", str(stage1_run), "--pose-encoding", "gaussian")
    with pytest.raises(SystemExit, match="train stage 1 first"):
        train(2, tmp_path / "s2", "--g1", str(tmp_path / "nothing"))


# ---- checkpoints and resume ------------------------------------------------------------------------


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return {f"{f.name}/{k}": v for f in sorted(checkpoint.glob("model*.safetensors")) for k, v in load_file(f).items()}


@pytest.mark.parametrize("stage", [1, 2])
def test_resume_continues_exactly(tmp_path, tiny_data, stage1_run, stage):
    from accelerate.state import AcceleratorState

    # --deterministic: exact on a GPU too, where D's conv gradients otherwise use non-deterministic atomics
    common_args = ["--data", str(tiny_data), "--save-every", "2", "--deterministic",
                   *(["--g1", str(stage1_run)] if stage == 2 else [])]
    train(stage, tmp_path / "straight", *common_args, "--max-steps", "4")
    AcceleratorState._reset_state(reset_partial_state=True)
    train(stage, tmp_path / "resumed", *common_args, "--max-steps", "2")
    AcceleratorState._reset_state(reset_partial_state=True)
    run = train(stage, tmp_path / "resumed", *common_args, "--max-steps", "4", "--resume", "latest")
    assert run.step == 4
    a = weights(tmp_path / "straight" / "checkpoints" / "step_00000004")
    b = weights(tmp_path / "resumed" / "checkpoints" / "step_00000004")
    assert a.keys() == b.keys() and len(a) > 0
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [r["step"] for r in records(tmp_path / "resumed") if "event" not in r]
    assert steps == [1, 2, 3, 4], "the log continues without gaps or repeats"


def test_checkpoints_are_atomic_and_pruned(tmp_path, tiny_data):
    out = tmp_path / "run"
    (out / "checkpoints" / ".tmp-step_00000009").mkdir(parents=True)  # a crash in the middle of a save
    train(1, out, "--data", str(tiny_data), "--max-steps", "4", "--save-every", "1", "--keep-last", "2")
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == [".tmp-step_00000009", "step_00000003", "step_00000004"]
    assert common.latest_checkpoint(out / "checkpoints").name == "step_00000004", "incomplete folders are ignored"
    state = json.loads((out / "checkpoints" / "step_00000004" / "trainer_state.json").read_text())
    assert state["step"] == 4 and state["config"]["hidden"] == 8
    assert {"model.safetensors", "optimizer.bin", "random_states_0.pkl"} <= {p.name for p in (out / "checkpoints" / "step_00000004").iterdir()}


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_data, monkeypatch):
    real, calls = losses.reconstruction_loss, []

    def poisoned(*args, **kwargs):
        calls.append(1)
        loss = real(*args, **kwargs)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(losses, "reconstruction_loss", poisoned)
    out = tmp_path / "run"
    with pytest.raises(common.NonFiniteLossError, match=r"non-finite loss at step 3: \{'loss_G1_L1': nan\}.*step_00000002"):
        train(1, out, "--data", str(tiny_data), "--max-steps", "6", "--save-every", "2")
    assert common.latest_checkpoint(out / "checkpoints").name == "step_00000002"
    assert all(torch.isfinite(v).all() for v in weights(out / "checkpoints" / "step_00000002").values())
    assert records(out)[-1]["event"] == "non_finite_loss"
    # and the run continues from there
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    assert train(1, out, "--data", str(tiny_data), "--max-steps", "4", "--resume", "latest").step == 4


# ---- learning ----------------------------------------------------------------------------------------


def test_overfit_four_pairs_loss_goes_down(tmp_path):
    data = make_synthetic_dataset(tmp_path / "data", image_size=(32, 16), people={"train": 2}, poses_per_person=2)
    out = tmp_path / "run"
    train(1, out, "--data", str(data), "--batch-size", "4", "--no-flip", "--lr", "1e-3", "--max-steps", "60",
          "--log-every", "10", "--save-every", "1000", "--sample-every", "1000")
    curve = [r["loss_G1_L1"] for r in records(out) if "loss_G1_L1" in r]
    assert len(curve) == 6 and curve[-1] < 0.75 * curve[0], curve


@pytest.mark.parametrize("ablation", [
    ["--g1-adversarial", "--discriminator", "pair"],  # G1+D with the paper's pair D
    ["--pose-encoding", "coordinates", "--loss", "l1"],  # G1-CE-L1
    ["--pose-encoding", "gaussian", "--pose-sigma", "2"],  # heatmaps
])
def test_table1_ablations_train(tmp_path, tiny_data, ablation):
    run = train(1, tmp_path / "run", "--data", str(tiny_data), "--max-steps", "1", *ablation)
    assert run.step == 1
    keys = set(records(tmp_path / "run")[0])
    assert ({"loss_D", "loss_G1_adv", "loss_G1_L1", "loss_G1"} <= keys) if "--g1-adversarial" in ablation else ("loss_G1_L1" in keys)
    if "coordinates" in ablation:  # a G1 on 36 coordinate channels is exported alone
        assert G1.from_pretrained(tmp_path / "run" / "export").stem[0].in_channels == 3 + 36


def test_push_to_hub_uses_the_library_path(tmp_path, tiny_data, monkeypatch):
    pushed = []
    monkeypatch.setattr(PG2, "push_to_hub", lambda self, repo, **kw: pushed.append((repo, self.g2 is None)))
    train(1, tmp_path / "run", "--data", str(tiny_data), "--max-steps", "1", "--push-to-hub", "me/pg2-tiny")
    assert pushed == [("me/pg2-tiny", True)]


# ---- several processes -------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_cpu_processes_train_in_sync(tmp_path, tiny_data):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29531",
               str(ROOT / "train" / "stage1.py"), *TINY, "--data", str(tiny_data), "--out", str(out), "--max-steps", "3",
               "--g1-adversarial"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    done = dict(re.findall(r"\[rank (\d/2)\] finished at step 3, weight checksum (\S+),", output))
    assert set(done) == {"0/2", "1/2"}, output[-3000:]
    assert len(set(done.values())) == 1, f"replicas diverged: {done}"
    checkpoint = out / "checkpoints" / "step_00000003"
    assert {"random_states_0.pkl", "random_states_1.pkl", "trainer_state.json"} <= {p.name for p in checkpoint.iterdir()}
    assert (out / "export" / "model.safetensors").is_file()


def test_augmented_run_resumes_exactly_and_exports_float16(tmp_path, tiny_data):
    args = ["--data", str(tiny_data), "--augment", "--augment-colour", "1.0", "--augment-zoom", "1.3",
            "--save-every", "2", "--sample-every", "100", "--export-dtype", "float16"]
    train(1, tmp_path / "straight", *args, "--max-steps", "4")
    train(1, tmp_path / "resumed", *args, "--max-steps", "2")
    train(1, tmp_path / "resumed", *args, "--max-steps", "4", "--resume", "latest")
    a, b = (load_file(tmp_path / run / "export" / "model.safetensors") for run in ("straight", "resumed"))
    assert all(t.dtype == torch.float16 for t in a.values()) and all(torch.equal(a[k], b[k]) for k in a)
    pipe = PG2.from_pretrained(tmp_path / "straight" / "export")
    assert next(pipe.parameters()).dtype == torch.float32  # half on disk, float32 in use


def test_max_minutes_stops_cleanly_with_samples_checkpoint_and_export(tmp_path, tiny_data):
    run = train(1, tmp_path / "run", "--data", str(tiny_data), "--max-steps", "1000", "--max-minutes", "0",
                "--save-every", "500", "--sample-every", "500")
    assert run.step == 1 and run.cfg.max_steps == 1
    assert (tmp_path / "run" / "checkpoints" / "step_00000001").is_dir()
    assert (tmp_path / "run" / "samples" / "step_00000001.png").is_file()
    assert PG2.from_pretrained(tmp_path / "run" / "export").g1 is not None


def test_g2_zero_init_starts_at_the_coarse_image():
    cfg = common.parse_config(2, [*TINY, "--out", "/tmp/unused", "--g2-zero-init"])
    g2 = common.make_g2(cfg)
    x = torch.randn(2, 3, 32, 16)
    assert torch.equal(g2(x, x), torch.zeros_like(x))
    assert not torch.equal(common.make_g2(common.parse_config(2, [*TINY, "--out", "/tmp/unused"]))(x, x), torch.zeros_like(x))


def test_init_fine_tunes_from_an_export(tmp_path, tiny_data):
    base = train(1, tmp_path / "base", "--data", str(tiny_data), "--max-steps", "2", "--sample-every", "100")
    tuned = common.make_g1(common.parse_config(1, [*TINY, "--out", str(tmp_path / "ft"), "--init", str(tmp_path / "base")]))
    exported = PG2.from_pretrained(tmp_path / "base" / "export").g1
    assert all(torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), exported.state_dict().values()))
    with pytest.raises(SystemExit, match="same geometry and width"):
        common.make_g1(common.parse_config(1, [*TINY, "--hidden", "4", "--out", str(tmp_path / "x"), "--init", str(tmp_path / "base")]))
    assert base.step == 2
