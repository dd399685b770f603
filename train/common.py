"""What stage1.py and stage2.py share: the config dataclass, data, the adversarial update, and the
run bookkeeping (logs, sample grids, atomic checkpoints, export).

Configuration, lowest to highest priority: `TrainConfig` defaults < preset file
`train/configs/<preset>.yaml` (its top-level keys, then its `stage1:` / `stage2:` section) <
`--config FILE.yaml` (same format) < `--key value` on the command line. Unknown keys are errors.
The resolved config is written to `<out>/config.yaml`.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import resource
import shutil
import sys
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import set_seed
from PIL import Image
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from pg2_hub import losses
from pg2_hub.augment import PairAugment
from pg2_hub.data import POSE_ENCODINGS, PoseTransferDataset, StepSampler, pose_channels
from pg2_hub.geometry import to_pil
from pg2_hub.models import G1, G2, Discriminator, load_weights
from pg2_hub.pipeline import PG2
from pg2_hub.synthetic import BACKGROUNDS, make_synthetic_dataset

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PRESETS = ("market", "deepfashion")


def opt(default, help: str):
    """A config field with a help text (lists get a fresh copy per instance)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Every option of both training stages. Defaults are the released Market-1501 settings."""

    # ---- data
    data: str | None = opt(None, "Pose-Transfer folder (see train/prepare_data.py); none = synthetic people generated into <out>/data")
    split: str = opt("train", "split to train on")
    on_error: str = opt("raise", "bad rows/images in the data: raise, or skip and count them")
    flip: bool = opt(True, "random horizontal flips of whole pairs")
    augment: bool = opt(False, "pair-consistent colour + zoom augmentation (pg2_hub.augment; not in the released code)")
    augment_colour: float = opt(0.5, "augment: probability of one channel permutation of both images")
    augment_zoom: float = opt(1.15, "augment: largest zoom-in factor, drawn per image (1 = off)")
    num_workers: int = opt(0, "DataLoader worker processes")
    synthetic_people: int = opt(64, "synthetic data: number of people (3 poses each)")
    synthetic_poses: str | None = opt(None, "synthetic data: annotation CSV to draw poses from; none = kinematic model")
    synthetic_size: list[int] | None = opt(None, "synthetic data: stored image size H W; none = the model geometry")
    synthetic_background: str = opt("scene", "synthetic data: scene (Market-like) or white (DeepFashion-like)")
    # ---- model
    image_height: int = opt(128, "model geometry H (data is letterboxed into it)")
    image_width: int = opt(64, "model geometry W")
    hidden: int = opt(128, "n, the base width of G1 and G2")
    bottleneck: int = opt(64, "G1 fully connected code size")
    g1_levels: int | None = opt(None, "G1 levels; none = log2(H) - 2")
    g2_levels: int | None = opt(None, "G2 levels; none = log2(H) - 4")
    g2_skip_first_level: bool = opt(False, "G2 U-Net skip at full resolution (DeepFashion: yes, Market: no)")
    g2_zero_init: bool = opt(False, "start G2 at refined = G1 output (zero output conv); not in the released code")
    d_base_width: int = opt(64, "discriminator first-layer width")
    d_layers: int | None = opt(None, "discriminator stride-2 convs; none = 4 up to 128 px, else 5")
    pose_encoding: str = opt("disk", "pose input: disk (released), gaussian, or coordinates (ablation G1-CE)")
    pose_radius: int = opt(4, "disk radius of pose maps and pose mask (model pixels)")
    pose_sigma: float = opt(6.0, "Gaussian sigma (model pixels)")
    background: list[int] = opt([255, 255, 255], "letterbox padding colour R G B")
    # ---- optimisation
    max_steps: int = opt(22000, "training steps of this stage")
    max_minutes: float | None = opt(None, "stop cleanly (samples, checkpoint, export) once this much wall time has passed")
    batch_size: int = opt(16, "pairs per step per process")
    lr: float = opt(2e-5, "Adam learning rate of every network")
    beta1: float = opt(0.5, "Adam beta1")
    beta2: float = opt(0.999, "Adam beta2")
    lr_halve_at: list[int] = opt([], "steps of this stage at which every learning rate halves")
    loss: str = opt("pose_mask", "L1 term: pose_mask (PG2) or l1 (ablation G1-L1)")
    lambda_l1: float = opt(10.0, "weight of the L1 term next to the adversarial term")
    discriminator: str = opt("released", "D: released (single images, condition counts as fake) or pair (paper)")
    g1_adversarial: bool = opt(False, "stage 1: add the adversarial term to G1 (ablation G1+D)")
    g1: str | None = opt(None, "stage 2: stage-1 export, run folder or checkpoint; none = runs/<preset>/stage1")
    init: str | None = opt(None, "stage 1: fine-tune, starting G1 from this export, run folder or checkpoint")
    # ---- run
    preset: str = opt("market", "market or deepfashion: loads train/configs/<preset>.yaml")
    out: str | None = opt(None, "run folder; none = runs/<preset>/stage<N>")
    seed: int = opt(0, "random seed (weights, data order, flips)")
    deterministic: bool = opt(False, "deterministic GPU kernels: bit-exact reruns and resumes, slower (CPU runs are exact anyway)")
    log_every: int = opt(10, "steps between JSONL/TensorBoard loss records")
    save_every: int = opt(1000, "steps between training-state checkpoints")
    keep_last: int = opt(3, "checkpoints to keep")
    sample_every: int = opt(500, "steps between sample grids")
    num_samples: int = opt(4, "rows of the sample grid")
    resume: str | None = opt(None, "latest, or a checkpoint folder, to continue from")
    dry_run: bool = opt(False, "smoke test: 2 steps, tiny synthetic data, every artifact written, no push")
    mixed_precision: str = opt("no", "no, bf16 or fp16")
    tensorboard: bool = opt(False, "also log to TensorBoard (<out>/tensorboard)")
    push_to_hub: str | None = opt(None, "Hub repo id to push the final export to")
    export_dtype: str = opt("float32", "dtype of the exported weights: float32, or float16 (half the size)")


CHOICES = {
    "on_error": ("raise", "skip"), "synthetic_background": BACKGROUNDS, "preset": PRESETS,
    "pose_encoding": POSE_ENCODINGS, "loss": losses.RECONSTRUCTION_LOSSES,
    "discriminator": losses.DISCRIMINATORS, "mixed_precision": ("no", "bf16", "fp16"),
    "export_dtype": ("float32", "float16"),
}


# ---- config loading ---------------------------------------------------------------------------


def _coerce(name: str, value, hint):
    """Convert a YAML or command-line value to the field's type, with a clear error."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        hint = next(a for a in args if a is not type(None))
    if isinstance(value, (list, dict)) and typing.get_origin(hint) is not list:
        raise SystemExit(f"config error: {name} = {value!r} must be a single {getattr(hint, '__name__', hint)}")
    try:
        if typing.get_origin(hint) is list:
            items = value if isinstance(value, (list, tuple)) else str(value).replace(",", " ").split()
            items = [v for v in items if str(v).lower() not in ("none", "[]")]  # `--lr-halve-at none` empties a list
            return [_coerce(name, v, typing.get_args(hint)[0]) for v in items]
        if hint is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "yes", "1", "on"):
                return True
            if str(value).lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if hint is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if hint is int and isinstance(value, bool):
            raise ValueError
        return hint(value)
    except (TypeError, ValueError):
        raise SystemExit(f"config error: {name} = {value!r} is not a valid {getattr(hint, '__name__', hint)}") from None


def _apply(cfg: TrainConfig, values: dict, source: str) -> None:
    """Set fields from a dict; unknown keys are errors listing the valid ones."""
    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise SystemExit(f"config error in {source}: unknown keys {unknown}. Valid keys: {', '.join(hints)}")
    for key, value in values.items():
        value = _coerce(key, value, hints[key])
        if key in CHOICES and value is not None and value not in CHOICES[key]:
            raise SystemExit(f"config error in {source}: {key} = {value!r}, choose one of {CHOICES[key]}")
        setattr(cfg, key, value)


def _read_yaml(path: Path, stage: int) -> tuple[dict, dict]:
    """(top-level keys, keys of the `stage<N>:` section) of a config file."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"config error: cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"config error: {path} must hold a mapping of keys to values")
    sections = {k: data.pop(k) for k in ("stage1", "stage2") if k in data}
    return data, sections.get(f"stage{stage}") or {}


def parse_config(stage: int, argv: list[str] | None = None) -> TrainConfig:
    """Build the config of `stage` (1 or 2) from defaults, preset, --config file and command line.

    Every field `name` is a flag `--name` (dashes or underscores); booleans also take `--no-name`,
    lists take several values, `none` sets an optional field to None.
    """
    hints = typing.get_type_hints(TrainConfig)
    parser = argparse.ArgumentParser(
        description=f"Train PG2 stage {stage}. " + (sys.modules["__main__"].__doc__ or "").split("\n")[0],
        argument_default=argparse.SUPPRESS)
    parser.add_argument("--config", help="YAML file of config keys (may have stage1:/stage2: sections)")
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        flags = [f"--{f.name.replace('_', '-')}"] + ([f"--{f.name}"] if "_" in f.name else [])
        help_text = f"{f.metadata['help']} (default: {getattr(defaults, f.name)})"
        if hints[f.name] is bool:
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, help=help_text)
        elif typing.get_origin(hints[f.name]) is list or list in [typing.get_origin(a) for a in typing.get_args(hints[f.name])]:
            parser.add_argument(*flags, dest=f.name, nargs="+", metavar="V", help=help_text)
        else:
            parser.add_argument(*flags, dest=f.name, metavar="V", help=help_text)
    args = vars(parser.parse_args(argv))
    config_file = args.pop("config", None)
    file_top, file_stage = _read_yaml(Path(config_file), stage) if config_file else ({}, {})

    cfg = TrainConfig()
    preset = args.get("preset", file_top.get("preset", file_stage.get("preset", cfg.preset)))
    if preset not in PRESETS:
        raise SystemExit(f"config error: preset = {preset!r}, choose one of {PRESETS}")
    top, section = _read_yaml(CONFIG_DIR / f"{preset}.yaml", stage)
    _apply(cfg, top, f"preset {preset}")
    _apply(cfg, section, f"preset {preset} stage{stage}")
    if config_file:
        _apply(cfg, file_top, config_file)
        _apply(cfg, file_stage, f"{config_file} stage{stage}")
    _apply(cfg, args, "the command line")
    cfg.preset = preset

    # derived defaults, so the resolved config is explicit
    cfg.out = cfg.out or f"runs/{cfg.preset}/stage{stage}"
    if stage == 2:
        cfg.g1 = cfg.g1 or f"runs/{cfg.preset}/stage1"
    if cfg.dry_run:
        cfg.max_steps, cfg.log_every, cfg.save_every, cfg.sample_every = 2, 1, 2, 2
        cfg.synthetic_people = min(cfg.synthetic_people, 4)
    for key in ("max_steps", "batch_size", "log_every", "save_every", "keep_last", "sample_every"):
        if getattr(cfg, key) < 1:
            raise SystemExit(f"config error: {key} must be >= 1, got {getattr(cfg, key)}")
    return cfg


# ---- data -------------------------------------------------------------------------------------


def build_dataset(cfg: TrainConfig, accelerator: Accelerator) -> PoseTransferDataset:
    """The training pairs: `cfg.data`, or synthetic people generated (once, by the main process) into <out>/data."""
    root = cfg.data
    if root is None:
        root = Path(cfg.out) / "data"
        size = tuple(cfg.synthetic_size or (cfg.image_height, cfg.image_width))
        if accelerator.is_main_process:
            make_synthetic_dataset(root, image_size=size, people={cfg.split: cfg.synthetic_people}, poses_per_person=3,
                                   pose_source=cfg.synthetic_poses, background=cfg.synthetic_background, seed=cfg.seed)
        accelerator.wait_for_everyone()
    dataset = PoseTransferDataset(root, cfg.split, image_size=(cfg.image_height, cfg.image_width),
                                  pose_encoding=cfg.pose_encoding, pose_radius=cfg.pose_radius, pose_sigma=cfg.pose_sigma,
                                  background=tuple(cfg.background), on_error=cfg.on_error,
                                  augment=PairAugment(colour=cfg.augment_colour, max_zoom=cfg.augment_zoom) if cfg.augment else None)
    if dataset.skipped:
        accelerator.print(f"on_error=skip: left out {len(dataset.skipped)} bad rows/pairs, e.g. " + "; ".join(dataset.skipped[:3]))
    return dataset


def make_loader(dataset: PoseTransferDataset, cfg: TrainConfig, accelerator: Accelerator, start_step: int) -> DataLoader:
    """Batches for steps start_step..max_steps-1: this process's share of each global batch (see StepSampler)."""
    sampler = StepSampler(len(dataset), cfg.batch_size, cfg.seed, cfg.flip, accelerator.process_index,
                          accelerator.num_processes, start_step, cfg.max_steps)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.num_workers,
                      pin_memory=accelerator.device.type == "cuda", persistent_workers=cfg.num_workers > 0)


# ---- models -----------------------------------------------------------------------------------


def make_g1(cfg: TrainConfig) -> G1:
    """G1 for the config's geometry, width and pose encoding (weights from cfg.init when fine-tuning)."""
    g1 = G1(cfg.image_height, cfg.image_width, pose_channels=pose_channels(cfg.pose_encoding), hidden=cfg.hidden,
            levels=cfg.g1_levels, bottleneck=cfg.bottleneck)
    if cfg.init:
        trained, _ = load_g1(cfg.init)
        if trained._hub_mixin_config != g1._hub_mixin_config:
            raise SystemExit(f"--init {cfg.init}: its G1 is {trained._hub_mixin_config}, this config builds "
                             f"{g1._hub_mixin_config}; use the same geometry and width")
        g1.load_state_dict(trained.state_dict())
    return g1


def make_g2(cfg: TrainConfig) -> G2:
    """G2 for the config; with g2_zero_init its difference map starts at exactly 0 (refined = coarse)."""
    g2 = G2(cfg.image_height, cfg.image_width, hidden=cfg.hidden, levels=cfg.g2_levels,
            skip_first_level=cfg.g2_skip_first_level)
    if cfg.g2_zero_init:
        torch.nn.init.zeros_(g2.out.weight)
        torch.nn.init.zeros_(g2.out.bias)
    return g2


def make_discriminator(cfg: TrainConfig) -> Discriminator:
    """The released single-image D (3 channels) or the paper's pair D (6 channels)."""
    return Discriminator(cfg.image_height, cfg.image_width, in_channels=3 if cfg.discriminator == "released" else 6,
                         base_width=cfg.d_base_width, num_layers=cfg.d_layers)


def make_adam(params, cfg: TrainConfig) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def set_lr(cfg: TrainConfig, step: int, *optimizers) -> float:
    """Set and return the learning rate of `step`: cfg.lr halved once per entry of lr_halve_at <= step."""
    lr = cfg.lr * 0.5 ** sum(step >= s for s in cfg.lr_halve_at)
    for opt in optimizers:
        for group in (opt.param_groups if opt is not None else []):
            group["lr"] = lr
    return lr


def load_g1(path: str) -> tuple[G1, dict]:
    """A trained G1 and its pose settings from a stage-1 export, run folder or checkpoint folder.

    Returns:
        (G1 in eval mode, {"pose_encoding", "pose_radius", "pose_sigma", "image_size"}).
    """
    p = Path(path)
    if (p / "export" / "config.json").is_file():
        p = p / "export"
    if (p / "config.json").is_file():
        pipe = PG2.from_pretrained(p)
        return pipe.g1.eval(), dict(pose_encoding=pipe.pose_encoding, pose_radius=pipe.pose_radius,
                                    pose_sigma=pipe.pose_sigma, image_size=tuple(pipe.image_size))
    if (p / "checkpoints").is_dir():
        p = latest_checkpoint(p / "checkpoints") or p
    state = p / "trainer_state.json"
    if not state.is_file():
        raise SystemExit(f"--g1 {path}: not a stage-1 export (config.json), run folder or checkpoint "
                         f"(trainer_state.json); train stage 1 first: python train/stage1.py --out {path}")
    saved = TrainConfig(**json.loads(state.read_text())["config"])
    g1 = make_g1(saved)
    load_weights(g1, p / "model.safetensors")  # accelerate saves the first prepared model (G1) here
    return g1.eval(), dict(pose_encoding=saved.pose_encoding, pose_radius=saved.pose_radius,
                           pose_sigma=saved.pose_sigma, image_size=(saved.image_height, saved.image_width))


# ---- the adversarial update -------------------------------------------------------------------


def adversarial_update(run: "Run", D, opt_D, opt_G, I_A, I_B, M_B, fake_B, name: str) -> dict[str, float]:
    """One GAN update, pytorch-CycleGAN style: a D step on the detached fake, then a G step on
    loss_G = loss_G_adv + lambda * L1 (the caller has run G and holds fake_B with its graph).

    Args:
        run: the Run (accelerator, config, finite-loss check).
        D, opt_D: discriminator and its optimizer.
        opt_G: optimizer of the generator that produced fake_B.
        I_A, I_B: (B, 3, H, W) condition and target images.
        M_B: (B, 1, H, W) target pose mask.
        fake_B: (B, 3, H, W) generated image (G1 output, or G1 + G2 difference map).
        name: generator name for the loss keys ("G1" or "G2").

    Returns:
        {loss_D, loss_<name>_adv, loss_<name>_L1, loss_<name>} averaged over processes.
    """
    acc, cfg = run.accelerator, run.cfg
    # D step: real I_B against the detached fake (and I_A, which the released D also calls fake)
    with acc.autocast():
        real, fake, condition = losses.discriminate(D, I_A, I_B, fake_B.detach(), cfg.discriminator)
        loss_D = losses.discriminator_loss(real, fake, condition)
    logs = run.check_finite(loss_D=loss_D)
    opt_D.zero_grad(set_to_none=True)
    acc.backward(loss_D)
    opt_D.step()

    # G step: fool the updated D and stay close to I_B; D is frozen, and not synchronised
    D.requires_grad_(False)
    with acc.no_sync(D), acc.autocast():
        _, fake, _ = losses.discriminate(D, I_A, I_B, fake_B, cfg.discriminator)
        loss_G_adv = losses.generator_adversarial_loss(fake)
        loss_G_L1 = losses.reconstruction_loss(fake_B, I_B, M_B, cfg.loss)
        loss_G = loss_G_adv + cfg.lambda_l1 * loss_G_L1
    logs.update(run.check_finite(**{f"loss_{name}_adv": loss_G_adv, f"loss_{name}_L1": loss_G_L1, f"loss_{name}": loss_G}))
    opt_G.zero_grad(set_to_none=True)
    acc.backward(loss_G)
    opt_G.step()
    D.requires_grad_(True)
    return logs


# ---- run bookkeeping --------------------------------------------------------------------------


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; training stopped before the bad update, the last checkpoint is intact."""


def latest_checkpoint(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step in `folder` (complete = renamed into place)."""
    done = [p for p in Path(folder).glob("step_*") if (p / "trainer_state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("_")[1]), default=None)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: CUDA allocations on a GPU, max resident set size on a CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class Run:
    """The bookkeeping of one training run in `cfg.out`: config.yaml, log.jsonl, samples/, checkpoints/,
    export/ and optional tensorboard/. Create it before the models (it seeds everything)."""

    def __init__(self, cfg: TrainConfig, stage: int):
        self.cfg, self.stage = cfg, stage
        self.out = Path(cfg.out)
        # Without a GPU, Accelerate forms a multi-process (gloo) group only when told cpu=True.
        multi_cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
        self.accelerator = Accelerator(cpu=multi_cpu, mixed_precision=cfg.mixed_precision,
                                       log_with="tensorboard" if cfg.tensorboard else None, project_dir=str(self.out))
        self.is_main = self.accelerator.is_main_process
        self.device = self.accelerator.device
        self.step = 0
        self.last_checkpoint: Path | None = None
        self._sums: dict[str, float] = {}
        self._count, self._t0 = 0, time.perf_counter()
        self._started = time.perf_counter()
        if self.is_main:
            (self.out / "checkpoints").mkdir(parents=True, exist_ok=True)
            (self.out / "samples").mkdir(exist_ok=True)
            (self.out / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
        if cfg.tensorboard:
            self.accelerator.init_trackers("tensorboard")
        self.accelerator.wait_for_everyone()
        if cfg.deterministic:  # cuBLAS needs this before its first matmul to be deterministic
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        set_seed(cfg.seed, deterministic=cfg.deterministic)

    def print(self, *args) -> None:
        """Print on the main process only."""
        self.accelerator.print(*args)

    # ---- resume and checkpoints
    def resume(self) -> int:
        """Load the training state named by cfg.resume; return the step to start from (0 when fresh)."""
        if not self.cfg.resume:
            return 0
        path = Path(self.cfg.resume)
        if self.cfg.resume == "latest":
            path = latest_checkpoint(self.out / "checkpoints")
            if path is None:
                self.print(f"--resume latest: no checkpoint in {self.out / 'checkpoints'} yet, starting a new run")
                return 0
        elif (path / "checkpoints").is_dir():
            path = latest_checkpoint(path / "checkpoints") or path
        if not (path / "trainer_state.json").is_file():
            raise SystemExit(f"--resume {self.cfg.resume}: {path} is not a complete checkpoint (no trainer_state.json)")
        self.accelerator.load_state(str(path))
        self.step = json.loads((path / "trainer_state.json").read_text())["step"]
        self.last_checkpoint = path
        self.print(f"resumed from {path} at step {self.step}")
        if self.is_main and (self.out / "log.jsonl").is_file():  # drop records the resumed run will write again
            lines = (self.out / "log.jsonl").read_text().splitlines()
            kept = [ln for ln in lines if json.loads(ln).get("step", 0) <= self.step]
            (self.out / "log.jsonl").write_text("".join(ln + "\n" for ln in kept))
        return self.step

    def save_checkpoint(self) -> Path:
        """Write the full training state (models, optimizers, RNG, step, config) atomically.

        All processes write into checkpoints/.tmp-step_N; the main process adds trainer_state.json and
        renames the folder to step_N (the rename is the commit), then deletes the oldest complete
        checkpoints beyond keep_last. A crash at any point leaves the previous checkpoints intact.
        """
        folder = self.out / "checkpoints"
        final, tmp = folder / f"step_{self.step:08d}", folder / f".tmp-step_{self.step:08d}"
        if self.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(tmp))
        self.accelerator.wait_for_everyone()
        if self.is_main:
            state = {"step": self.step, "stage": self.stage, "config": dataclasses.asdict(self.cfg), "time": time.time()}
            (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1))
            if final.exists():  # the same step saved before (a resumed run): replace it
                shutil.rmtree(final)
            os.replace(tmp, final)
            done = sorted((p for p in folder.glob("step_*") if (p / "trainer_state.json").is_file()),
                          key=lambda p: int(p.name.split("_")[1]))
            for old in done[:-self.cfg.keep_last]:
                if old != final:
                    shutil.rmtree(old, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        self.last_checkpoint = final
        return final

    # ---- losses and logs
    def check_finite(self, **named: torch.Tensor) -> dict[str, float]:
        """Average the losses over processes; stop the run on NaN/inf before anything is updated.

        Returns:
            {name: value} as floats (also accumulated for the next log record).
        """
        values = self.accelerator.reduce(torch.stack([v.detach().float() for v in named.values()]), "mean")
        values = dict(zip(named, values.tolist()))
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            where = f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint was written yet"
            message = (f"non-finite loss at step {self.step + 1}: {bad}. Training stopped before this update; {where} "
                       "(continue with --resume latest). Try a lower --lr, --mixed-precision no, or check the data.")
            self.log({"event": "non_finite_loss", "step": self.step + 1, **{k: str(v) for k, v in bad.items()}})
            raise NonFiniteLossError(message)
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        return values

    def log(self, record: dict) -> None:
        """Append one JSON record to log.jsonl (main process)."""
        if self.is_main:
            with open(self.out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    def end_step(self, progress: tqdm, lr: float) -> dict | None:
        """Count one finished step; at log_every steps write the averaged losses. Returns the record if written."""
        self.step += 1
        self._count += 1
        progress.update(1)
        if self.cfg.max_minutes is not None and self.step < self.cfg.max_steps:
            late = torch.tensor(float(time.perf_counter() - self._started > 60 * self.cfg.max_minutes), device=self.device)
            if self.accelerator.reduce(late, "max").item():  # every process stops at the same step
                self.print(f"\n--max-minutes {self.cfg.max_minutes}: stopping at step {self.step}")
                self.cfg.max_steps = self.step  # so this step is the last: samples, checkpoint, export follow
        if self.step % self.cfg.log_every and self.step != self.cfg.max_steps:
            return None
        elapsed = time.perf_counter() - self._t0
        record = {"step": self.step, **{k: v / self._count for k, v in self._sums.items()}, "lr": lr,
                  "steps_per_s": self._count / elapsed, "peak_memory_mb": peak_memory_mb(self.device)}
        self.log(record)
        if self.cfg.tensorboard:
            self.accelerator.log({k: v for k, v in record.items() if k != "step"}, step=self.step)
        progress.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k.startswith("loss")})
        self._sums, self._count, self._t0 = {}, 0, time.perf_counter()
        return record

    @property
    def done(self) -> bool:
        """Whether the run has reached its last step (max_steps, possibly shortened by max_minutes)."""
        return self.step >= self.cfg.max_steps

    def due(self, every: int) -> bool:
        """Whether an every-N-steps task is due after this step (always at the last step)."""
        return self.step % every == 0 or self.step == self.cfg.max_steps

    # ---- sample grids
    def fixed_batch(self, dataset: PoseTransferDataset) -> tuple[dict, list[Image.Image]]:
        """num_samples pairs spread over the dataset (unflipped) and drawings of their target poses."""
        n = min(self.cfg.num_samples, len(dataset))
        idx = [round(i * (len(dataset) - 1) / max(n - 1, 1)) for i in range(n)]
        items = [dataset[i] for i in idx]
        batch = {k: torch.stack([it[k] for it in items]).to(self.device) for k in ("I_A", "I_B", "P_B")}
        width = max(1, round(4 * dataset.image_size[0] / 256))  # OpenPose's 4 px sticks at 256 px, scaled
        drawings = [dataset.pose(it["name_B"]).draw(stick_width=width, radius=width) for it in items]
        return batch, drawings

    @torch.no_grad()
    def save_samples(self, fixed: tuple[dict, list[Image.Image]], G1_model, G2_model=None) -> Path | None:
        """Write samples/step_N.png: one row per fixed pair, [I_A | P_B drawing | G1 | G2 | I_B] (G2 grey in stage 1)."""
        if not self.is_main:
            return None
        batch, drawings = fixed
        g1 = self.accelerator.unwrap_model(G1_model)
        with self.accelerator.autocast():
            coarse = g1(batch["I_A"], batch["P_B"]).float()
            refined = (coarse + self.accelerator.unwrap_model(G2_model)(coarse, batch["I_A"]).float()
                       if G2_model is not None else None)
        h, w = batch["I_A"].shape[-2:]
        grid = Image.new("RGB", (5 * w, len(drawings) * h), (128, 128, 128))
        for r, drawing in enumerate(drawings):
            tiles = [to_pil(batch["I_A"][r]), drawing, to_pil(coarse[r]),
                     to_pil(refined[r]) if refined is not None else None, to_pil(batch["I_B"][r])]
            for c, tile in enumerate(tiles):
                if tile is not None:
                    grid.paste(tile, (c * w, r * h))
        path = self.out / "samples" / f"step_{self.step:08d}.png"
        grid.save(path)
        if self.cfg.tensorboard:
            writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
            writer.add_image("samples", np.asarray(grid), self.step, dataformats="HWC")
        return path

    # ---- the end
    def export(self, G1_model, G2_model=None, dataset_name: str = "") -> Path:
        """Write the `save_pretrained` export (export/) atomically and push it when cfg.push_to_hub is set."""
        final = self.out / "export"
        if self.is_main:
            g1 = self.accelerator.unwrap_model(G1_model)
            g2 = self.accelerator.unwrap_model(G2_model) if G2_model is not None else None
            training = {"dataset": dataset_name, "preset": self.cfg.preset, "stage": self.stage, "steps": self.step,
                        "loss": self.cfg.loss, "discriminator": self.cfg.discriminator if self.stage == 2 else None}
            if self.cfg.pose_encoding == "coordinates":  # the ablation G1-CE: PG2 pipelines only take pose maps
                pipe, how = g1, "G1.from_pretrained (the PG2 pipeline takes disk/gaussian pose maps only)"
            else:
                pipe, how = PG2.from_models(g1, g2, pose_encoding=self.cfg.pose_encoding, pose_radius=self.cfg.pose_radius,
                                            pose_sigma=self.cfg.pose_sigma, background=list(self.cfg.background),
                                            model_name=f"pg2-{self.cfg.preset}-stage{self.stage}", training_info=training), \
                    "PG2.from_pretrained"
            tmp = self.out / ".tmp-export"
            shutil.rmtree(tmp, ignore_errors=True)
            if self.cfg.export_dtype == "float16":
                pipe = copy.deepcopy(pipe).half()
            pipe.save_pretrained(tmp)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            self.print(f"exported {final} (load with {how})")
            if self.cfg.push_to_hub and not self.cfg.dry_run:
                pipe.push_to_hub(self.cfg.push_to_hub)
                self.print(f"pushed to https://huggingface.co/{self.cfg.push_to_hub}")
        self.accelerator.wait_for_everyone()
        return final

    def finish(self, G_model) -> None:
        """Print each process's summary line (a weight checksum proves replicas agree) and close trackers."""
        checksum = sum(p.detach().double().sum().item() for p in self.accelerator.unwrap_model(G_model).parameters())
        memory = peak_memory_mb(self.device)
        print(f"[rank {self.accelerator.process_index}/{self.accelerator.num_processes}] finished at step {self.step}, "
              f"weight checksum {checksum:.10e}, peak memory {memory:.0f} MB", flush=True)
        self.log({"event": "done", "step": self.step, "peak_memory_mb": memory})
        self.accelerator.end_training()
