"""Evaluate PG2 checkpoints with the paper's Table 1 protocol (plus FID and LPIPS), or batch-generate images.

Table mode: generate every test pair with every model, score it, print a markdown table with one row
per model plus the copy-the-condition-image baseline (always), and save it as JSON and .md:

    python train/evaluate.py --data ../shared/data/deepfashion --split test --geometry 256x256 \\
        --model checkpoints/pg2-deepfashion --model user/pg2-deepfashion-g1 --out runs/eval-deepfashion

Generation mode: every person image of a folder in every pose of a list (or the pairs of a CSV),
e.g. to make re-identification training data. Writes `{image}___{pose}.png` and a manifest.csv:

    python train/evaluate.py --model user/pg2-market --images people/ --poses market-annotation-test.csv \\
        --out reid_augmented/

Inputs use the Pose-Transfer layout (spec section 5): `DATA/{split}/` images, `DATA/*-annotation-{split}.csv`
and `DATA/*-pairs-{split}.csv`. Generated images are written as `{from}___{to}.png` (PNG, lossless) in
the geometry they were scored in. See README.md, "Evaluate", for the protocol and its pitfalls.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from pg2_hub import PG2, CheckpointError, ImageInputError, Letterbox, Pose, PoseError
from pg2_hub import metrics as M
from pg2_hub.data import DatasetError, PoseTransferDataset, read_pairs_csv
from pg2_hub.geometry import as_rgb_image
from pg2_hub.pose import read_annotation_csv

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
WHITE = (255, 255, 255)
NA_WEIGHTS = "n/a (weights unavailable)"
NA_SKIPPED = "n/a (skipped)"
BASELINE_LABEL = "copy I_A (baseline)"

#: (JSON key, table header, decimals) in Table 1 order, then the later metrics.
COLUMNS = (
    ("ssim_pg2", "SSIM (PG2)", 3),
    ("ssim_patn", "SSIM (PATN)", 3),
    ("is", "IS", 3),
    ("mask_ssim_pg2", "mask-SSIM (PG2)", 3),
    ("mask_ssim_patn", "mask-SSIM (PATN)", 3),
    ("mask_is", "mask-IS", 3),
    ("fid", "FID", 2),
    ("lpips", "LPIPS", 4),
    ("psnr", "PSNR (dB)", 2),
    ("l1", "L1 [-1,1]", 4),
)
METRIC_NOTES = {
    "ssim_pg2": "scikit-image structural_similarity on uint8 RGB, 7x7 uniform window, data_range 255 (PG2 released code)",
    "ssim_patn": "Gaussian window sigma 1.5, use_sample_covariance=False, data_range = max - min of the generated "
                 "image (Deformable-GAN / PATN compute_scores.py)",
    "is": "Inception Score, torch-fidelity's Inception-v3 (2015-12-05 graph), logits without bias, consecutive splits",
    "mask_ssim_pg2": "SSIM (PG2) after multiplying both images by the target pose mask M_B (Pose.pose_mask)",
    "mask_ssim_patn": "SSIM (PATN) after multiplying both images by M_B",
    "mask_is": "Inception Score of the generated images multiplied by M_B",
    "fid": "Frechet Inception Distance, pool3 features (torch-fidelity), generated vs the real set",
    "lpips": "LPIPS v0.1, AlexNet (lpips package), mean over pairs, inputs in [-1, 1]",
    "psnr": "peak signal-to-noise ratio, data_range 255, mean over pairs (inf for identical images)",
    "l1": "mean |generated - I_B| with pixels scaled to [-1, 1] (halve for [0, 1])",
}


class EvaluationError(RuntimeError):
    """Bad input to the evaluation (missing file, malformed CSV, wrong geometry); the message says what to do."""


# ------------------------------------------------------------------------------------------------
# geometry and data: the test split in the frame the numbers are computed in


@dataclass(frozen=True)
class Geometry:
    """Where metrics are computed: the stored images ("native") or a padded frame such as PG2's
    DeepFashion 256x256 (256x176 images padded 40 px of white on each side, spec section 5)."""

    data_size: tuple[int, int]
    size: tuple[int, int]

    @classmethod
    def parse(cls, text: str, data_size: tuple[int, int]) -> Geometry:
        """'native' or HxW; HxW must be reachable from `data_size` by symmetric padding alone."""
        if text == "native":
            return cls(tuple(data_size), tuple(data_size))
        m = re.fullmatch(r"(\d+)x(\d+)", text)
        if not m:
            raise EvaluationError(f"--geometry must be 'native' or HEIGHTxWIDTH such as 256x256, got {text!r}")
        size = (int(m.group(1)), int(m.group(2)))
        (h, w), (H, W) = data_size, size
        if H < h or W < w or (H - h) % 2 or (W - w) % 2 or Letterbox(data_size, size).scaled_size != (h, w):
            raise EvaluationError(
                f"--geometry {text} cannot be reached from the {h}x{w} images by symmetric white padding "
                f"(the pipeline's letterbox would rescale them; only padding is allowed, as 256x176 -> 256x256 for "
                f"DeepFashion); use --geometry native"
            )
        return cls(tuple(data_size), size)

    def describe(self) -> str:
        (h, w), (H, W) = self.data_size, self.size
        if (h, w) == (H, W):
            return f"{h}x{w} (native)"
        return f"{H}x{W} ({h}x{w} images padded with white: {(H - h) // 2} px top/bottom, {(W - w) // 2} px left/right)"


def load_test_split(data: Path, split: str, geometry: str) -> tuple[PoseTransferDataset, Geometry]:
    """The checked Pose-Transfer split (`pg2_hub.data`), with images and poses in the evaluation geometry."""
    if not Path(data).is_dir():
        raise EvaluationError(f"data folder {data} does not exist; give a folder in the Pose-Transfer layout "
                              f"(DATA/{split}/, DATA/*-annotation-{split}.csv, DATA/*-pairs-{split}.csv)")
    dataset = PoseTransferDataset(data, split)
    geo = Geometry.parse(geometry, dataset.stored_size)
    if geo.size != geo.data_size:  # the dataset letterboxes with white: exactly the padding of spec section 5
        dataset = PoseTransferDataset(data, split, image_size=geo.size, background=WHITE)
    return dataset, geo


@dataclass
class Sample:
    """One test pair in the evaluation geometry."""

    from_name: str
    to_name: str
    I_A: Image.Image  # condition image
    I_B: Image.Image  # target image
    P_B: Pose  # target pose

    @property
    def file_name(self) -> str:
        return f"{self.from_name}___{self.to_name}.png"


def load_samples(dataset: PoseTransferDataset, pairs: Sequence[tuple[str, str]]) -> list[Sample]:
    return [Sample(a, b, dataset.image(a), dataset.image(b), dataset.pose(b)) for a, b in pairs]


# ------------------------------------------------------------------------------------------------
# generators: the things a table row is made of

#: samples -> (refined, coarse or None), PIL images in the evaluation geometry.
Generator = Callable[[list[Sample]], tuple[list[Image.Image], list[Image.Image] | None]]


def copy_baseline(samples: list[Sample]) -> tuple[list[Image.Image], None]:
    """The copy-the-condition-image baseline: G(I_A, P_B) = I_A."""
    return [s.I_A for s in samples], None


def pipeline_generator(pipe: PG2, batch_size: int) -> Generator:
    """A PG2 pipeline as a row generator (the one inference path: letterboxing happens inside)."""

    def generate(samples: list[Sample]) -> tuple[list[Image.Image], list[Image.Image]]:
        out = pipe([s.I_A for s in samples], [s.P_B for s in samples], batch_size=batch_size)
        return out.refined, out.coarse

    return generate


# ------------------------------------------------------------------------------------------------
# metrics for one row


@dataclass
class Backbones:
    """The networks behind IS / FID / LPIPS, or why each is unavailable (the table shows the reason)."""

    inception: M.FeatureFn | None = None
    inception_na: str = NA_SKIPPED
    lpips: torch.nn.Module | None = None
    lpips_na: str = NA_SKIPPED
    real_pool: torch.Tensor | None = None  # (N, D) features of the FID real set
    real_na: str = "n/a (no real set: pass --fid-real DIR)"
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, inception: bool, inception_weights, lpips: bool, alexnet_weights, device) -> Backbones:
        b = cls()
        if inception:
            try:
                b.inception, b.inception_na = M.load_inception(inception_weights, device), ""
            except M.MetricWeightsUnavailable as e:
                b.inception_na = NA_WEIGHTS
                b.notes.append(f"IS / mask-IS / FID: {e}")
        if lpips:
            try:
                b.lpips, b.lpips_na = M.load_lpips(alexnet_weights, device), ""
            except M.MetricWeightsUnavailable as e:
                b.lpips_na = NA_WEIGHTS
                b.notes.append(f"LPIPS: {e}")
        return b

    def load_real_set(self, paths: Sequence[Path], geometry: Geometry, batch_size: int) -> None:
        """Inception pool features of the FID real set, in the evaluation geometry."""
        if self.inception is None:
            return
        box = Letterbox(geometry.data_size, geometry.size, WHITE)  # the test images' padding
        images = (box.image(_real_image(p, geometry)) for p in paths)
        feats = M.extract_features(tqdm(images, total=len(paths), desc="FID real set", unit="img"),
                                   self.inception, batch_size)
        self.real_pool, self.real_na = feats["pool"].float(), ""


def _real_image(path: Path, geometry: Geometry) -> Image.Image:
    image = as_rgb_image(path, name="FID real image")
    if (image.height, image.width) != tuple(geometry.data_size):
        raise EvaluationError(f"FID real image {path} is {image.height}x{image.width}, the test images are "
                              f"{geometry.data_size[0]}x{geometry.data_size[1]}; give a real set of the same size")
    return image


def _batch_tensor(arrays: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()  # (B, 3, H, W) uint8


class RowScorer:
    """Accumulates every metric of one table row over batches of (generated, sample)."""

    def __init__(self, backbones: Backbones, is_splits: int = 10):
        self.backbones, self.is_splits = backbones, is_splits
        self.per_pair: list[dict] = []
        self.pool: list[torch.Tensor] = []
        self.logits: list[torch.Tensor] = []
        self.mask_logits: list[torch.Tensor] = []

    @torch.no_grad()
    def update(self, generated: Sequence[Image.Image], samples: Sequence[Sample]) -> None:
        G = [M.to_uint8_rgb(g, "generated") for g in generated]
        masked_G = []
        for g, s in zip(G, samples):
            I_B = np.asarray(s.I_B)
            if g.shape != I_B.shape:
                raise EvaluationError(f"generated {s.file_name} is {g.shape[:2]}, its target {I_B.shape[:2]}")
            M_B = s.P_B.pose_mask()  # (H, W) {0, 1}
            masked_G.append(M.apply_mask(g, M_B))
            self.per_pair.append(dict(
                **{"from": s.from_name, "to": s.to_name},
                ssim_pg2=M.ssim(g, I_B, "pg2"), ssim_patn=M.ssim(g, I_B, "patn"),
                mask_ssim_pg2=M.mask_ssim(g, I_B, M_B, "pg2"), mask_ssim_patn=M.mask_ssim(g, I_B, M_B, "patn"),
                psnr=M.psnr(g, I_B), l1=M.l1(g, I_B),
            ))
        if self.backbones.inception is not None:
            feats = self.backbones.inception(_batch_tensor(G))
            self.pool.append(feats["pool"].float().cpu())
            self.logits.append(feats["logits"].float().cpu())
            self.mask_logits.append(self.backbones.inception(_batch_tensor(masked_G))["logits"].float().cpu())
        if self.backbones.lpips is not None:
            targets = [np.asarray(s.I_B) for s in samples]
            d = M.lpips_distances(G, targets, model=self.backbones.lpips, batch_size=len(G))
            for row, value in zip(self.per_pair[-len(G):], d):
                row["lpips"] = float(value)

    def _inception_score(self, logits: list[torch.Tensor]) -> dict | str:
        if self.backbones.inception is None:
            return self.backbones.inception_na
        n = sum(len(x) for x in logits)
        if n < self.is_splits:
            return f"n/a (IS needs >= {self.is_splits} images, got {n})"
        mean, std = M.inception_score_from_logits(torch.cat(logits), self.is_splits)
        return {"mean": mean, "std": std}

    def result(self) -> dict:
        mean = lambda key: float(np.mean([r[key] for r in self.per_pair]))  # noqa: E731
        out = {key: mean(key) for key in ("ssim_pg2", "ssim_patn", "mask_ssim_pg2", "mask_ssim_patn", "psnr", "l1")}
        out["is"] = self._inception_score(self.logits)
        out["mask_is"] = self._inception_score(self.mask_logits)
        b = self.backbones
        if b.inception is None:
            out["fid"] = b.inception_na
        elif b.real_pool is None:
            out["fid"] = b.real_na
        elif sum(len(x) for x in self.pool) < 2:
            out["fid"] = "n/a (FID needs >= 2 images)"
        else:
            out["fid"] = M.fid_from_features(torch.cat(self.pool), b.real_pool)
        out["lpips"] = mean("lpips") if b.lpips is not None else b.lpips_na
        return out


# ------------------------------------------------------------------------------------------------
# the table


@dataclass
class Row:
    """One table row: a label, how its images are made, and where its model comes from."""

    label: str
    generate: Generator
    model: str | None = None
    info: dict = field(default_factory=dict)


def strip_image(sample: Sample, coarse: Image.Image, refined: Image.Image) -> Image.Image:
    """[I_A | P_B | G1 | G2 | I_B] side by side."""
    panels = [sample.I_A, sample.P_B.draw(), coarse, refined, sample.I_B]
    w, h = sample.I_A.size
    strip = Image.new("RGB", (w * len(panels), h), WHITE)
    for i, panel in enumerate(panels):
        strip.paste(panel, (i * w, 0))
    return strip


def _safe_dir_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "model"


def score_row(row: Row, samples_iter: Callable[[], Iterable[list[Sample]]], n_batches: int, backbones: Backbones,
              out_dir: Path | None, strips: bool, is_splits: int) -> dict:
    """Generate and score every pair for one row; write images (not for the baseline) and per-pair CSV."""
    scorer = RowScorer(backbones, is_splits)
    row_dir = out_dir / _safe_dir_name(row.label) if out_dir else None
    for samples in tqdm(samples_iter(), total=n_batches, desc=row.label, unit="batch"):
        refined, coarse = row.generate(samples)
        scorer.update(refined, samples)
        if row_dir is not None and row.model is not None:
            (row_dir / "images").mkdir(parents=True, exist_ok=True)
            for s, image in zip(samples, refined):
                image.save(row_dir / "images" / s.file_name)
            if strips:
                (row_dir / "strips").mkdir(parents=True, exist_ok=True)
                for s, c, r in zip(samples, coarse or refined, refined):
                    strip_image(s, c, r).save(row_dir / "strips" / s.file_name)
    if row_dir is not None:
        row_dir.mkdir(parents=True, exist_ok=True)
        keys = list(scorer.per_pair[0])
        with open(row_dir / "per_pair.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(scorer.per_pair)
    return scorer.result()


def format_value(value, decimals: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = value["mean"]
    return "inf" if math.isinf(value) else f"{value:.{decimals}f}"


def markdown_table(result: dict) -> str:
    """The results as a markdown table with a caption stating data, geometry and metric definitions."""
    p = result["protocol"]
    lines = [
        f"Data: {p['data']} (split {p['split']}, {p['pairs']} pairs). Geometry: {p['geometry']}. "
        f"SSIM (PG2): 7x7 uniform window, data_range 255; SSIM (PATN): Gaussian sigma 1.5, data_range of the "
        f"generated image; mask-*: both images times the target pose mask; IS: {p['is_splits']} splits; "
        f"FID real set: {p['fid_real']}; LPIPS: AlexNet v0.1; L1 on pixels in [-1, 1].",
        "",
        "| model | geometry | " + " | ".join(header for _, header, _ in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for row in result["rows"]:
        cells = [format_value(row["metrics"][key], d) for key, _, d in COLUMNS]
        lines.append(f"| {row['label']} | {row['geometry_short']} | " + " | ".join(cells) + " |")
    notes = [f"- {row['label']}: {row['note']}" for row in result["rows"] if row.get("note")]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf": strict JSON has no infinity
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def evaluate_table(dataset: PoseTransferDataset, rows: Sequence[Row], geometry: Geometry, backbones: Backbones, *,
                   out_dir: Path | None = None, batch_size: int = 8, strips: bool = False, is_splits: int = 10,
                   limit: int | None = None, fid_real: str = "none") -> dict:
    """Score the copy baseline and every row over the pairs of `dataset`; return the JSON-able result.

    Args:
        dataset: the test split in the evaluation geometry (`load_test_split`).
        rows: the models; the copy baseline is added first.
        geometry: where the numbers are computed (`Geometry.parse`).
        backbones: IS / FID / LPIPS networks or the reasons they are unavailable.
        out_dir: where images, strips, per-pair CSVs, results.json and results.md go (None: nowhere).
        batch_size: pairs per generation batch.
        strips: also write [I_A | P_B | G1 | G2 | I_B] strips.
        is_splits: Inception Score splits (10 in the protocol).
        limit: only the first `limit` pairs.
        fid_real: description of the FID real set for the caption.
    """
    pairs = dataset.pairs[:limit]
    n_batches = math.ceil(len(pairs) / batch_size)

    def batches():
        for s in range(0, len(pairs), batch_size):
            yield load_samples(dataset, pairs[s:s + batch_size])

    all_rows = [Row(BASELINE_LABEL, copy_baseline)] + list(rows)
    folders = [_safe_dir_name(r.label) for r in all_rows]
    if len(set(folders)) != len(folders):
        raise EvaluationError(f"row labels {[r.label for r in all_rows]} give clashing output folders {folders}; "
                              "pass distinct --label values")
    results = []
    for row in all_rows:
        values = score_row(row, batches, n_batches, backbones, out_dir, strips, is_splits)
        results.append(dict(label=row.label, model=row.model, geometry=geometry.describe(),
                            geometry_short=f"{geometry.size[0]}x{geometry.size[1]}", n_pairs=len(pairs),
                            metrics=values, **row.info))
    result = dict(
        protocol=dict(data=str(dataset.root), split=dataset.split, pairs=len(pairs),
                      annotation_csv=str(dataset.annotation_csv), pairs_csv=str(dataset.pairs_csv),
                      geometry=geometry.describe(), is_splits=is_splits, fid_real=fid_real,
                      metric_definitions=METRIC_NOTES, notes=backbones.notes),
        rows=results,
    )
    result = _json_safe(result)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(result, indent=1))
        (out_dir / "results.md").write_text(markdown_table(result))
    return result


# ------------------------------------------------------------------------------------------------
# generation mode (re-identification data)


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise EvaluationError(f"image folder {folder} does not exist")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise EvaluationError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return images


def load_pose_list(source: Path, frame: tuple[int, int] | None) -> dict[str, Pose]:
    """Poses from an annotation CSV or a folder of OpenPose JSON files (name = file name)."""
    if source.is_dir():
        files = sorted(source.glob("*.json"))
        if not files:
            raise EvaluationError(f"no OpenPose *.json files in {source}")
        poses = {}
        for f in files:
            try:
                poses[f.stem] = Pose.from_openpose_json(f.read_text(), image_size=frame)
            except PoseError as e:
                raise EvaluationError(f"{f}: {e}") from e
        return poses
    if not source.is_file():
        raise EvaluationError(f"pose list {source} does not exist (give an annotation CSV or a folder of OpenPose JSON)")
    return read_annotation_csv(source, image_size=frame)


def generate_only(pipe: PG2, images: Path, poses_path: Path, out_dir: Path, *, pairs_csv: Path | None = None,
                  pose_frame: tuple[int, int] | None = None, batch_size: int = 8, strips: bool = False) -> list[dict]:
    """Draw every person of `images` in every pose of `poses_path` (or the pairs of `pairs_csv`).

    Writes `out_dir/images/{image}___{pose}.png` in each condition image's own framing, optional
    `out_dir/strips/` [I_A | P_B | G1 | G2], and `out_dir/manifest.csv` (from, to, file). Poses
    with fewer visible joints than the model needs are skipped and listed (never silently).

    Args:
        pipe: the model.
        images: folder of person images.
        poses_path: annotation CSV or folder of OpenPose JSON files.
        pairs_csv: optional `from,to` CSV (from = image file name, to = pose name).
        pose_frame: (h, w) frame the poses are annotated in; None = the frame of each condition image.
    """
    files = {p.name: p for p in list_images(images)}
    poses = load_pose_list(poses_path, pose_frame)
    if pairs_csv is not None:
        jobs = []
        for lineno, a, b in read_pairs_csv(pairs_csv)[0]:
            if a not in files:
                raise EvaluationError(f"{pairs_csv}:{lineno}: image {a!r} is not in {images}")
            if b not in poses:
                raise EvaluationError(f"{pairs_csv}:{lineno}: pose {b!r} is not in {poses_path}")
            jobs.append((a, b))
    else:
        jobs = [(a, b) for a in files for b in poses]
    weak = sorted({b for _, b in jobs if poses[b].num_visible < pipe.min_joints})
    if weak:
        print(f"skipping {len(weak)} poses with fewer than {pipe.min_joints} visible joints: {weak[:10]}", file=sys.stderr)
        jobs = [(a, b) for a, b in jobs if b not in weak]
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    manifest = []
    for s in tqdm(range(0, len(jobs), batch_size), desc="generate", unit="batch"):
        batch = jobs[s:s + batch_size]
        I_A = [as_rgb_image(files[a], name=str(files[a])) for a, _ in batch]
        out = pipe(I_A, [poses[b] for _, b in batch], batch_size=batch_size)
        for (a, b), image, coarse, refined, drawing in zip(batch, I_A, out.coarse, out.refined, out.pose):
            name = f"{a}___{b}.png"
            refined.save(out_dir / "images" / name)
            if strips:
                (out_dir / "strips").mkdir(exist_ok=True)
                strip = Image.new("RGB", (image.width * 4, image.height), WHITE)
                for i, panel in enumerate((image, drawing, coarse, refined)):
                    strip.paste(panel, (i * image.width, 0))
                strip.save(out_dir / "strips" / name)
            manifest.append({"from": a, "to": b, "file": f"images/{name}"})
    with open(out_dir / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["from", "to", "file"])
        writer.writeheader()
        writer.writerows(manifest)
    return manifest


# ------------------------------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Table mode needs --data; generation mode needs --images and --poses.")
    p.add_argument("--model", action="append", default=[], help="checkpoint folder or Hub repo id; repeat for more rows")
    p.add_argument("--label", action="append", default=[], help="row label per --model (default: its name)")
    p.add_argument("--out", type=Path, help="output folder (images, strips, results.json, results.md)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--strips", action="store_true", help="also write [I_A | P_B | G1 | G2 | I_B] strips")
    t = p.add_argument_group("table mode")
    t.add_argument("--data", type=Path, help="dataset folder in the Pose-Transfer layout")
    t.add_argument("--split", default="test")
    t.add_argument("--limit", type=int, help="only the first N pairs (quick checks; not Table 1 numbers)")
    t.add_argument("--geometry", default="native",
                   help="'native' (the stored images) or HxW reached by white padding, e.g. 256x256 for PG2's DeepFashion")
    t.add_argument("--fid-real", type=Path, help="real images for FID (default: DATA/train, the training images)")
    t.add_argument("--inception-weights", type=Path, help=f"local copy of {M.INCEPTION_URL}")
    t.add_argument("--alexnet-weights", type=Path, help=f"local copy of {M.ALEXNET_URL} (for LPIPS)")
    t.add_argument("--no-inception", action="store_true", help="skip IS, mask-IS and FID")
    t.add_argument("--no-lpips", action="store_true", help="skip LPIPS")
    t.add_argument("--is-splits", type=int, default=10)
    g = p.add_argument_group("generation mode (e.g. re-identification training data)")
    g.add_argument("--images", type=Path, help="folder of person images (the condition images)")
    g.add_argument("--poses", type=Path, help="annotation CSV or folder of OpenPose JSON files (the target poses)")
    g.add_argument("--pairs", type=Path, help="optional from,to CSV: from = image file name, to = pose name")
    g.add_argument("--pose-frame", help="HxW frame the poses are annotated in (default: each image's own frame)")
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error("--batch-size must be >= 1")
    table, gen = args.data is not None, args.images is not None or args.poses is not None
    if table == gen:
        p.error("give either --data (table mode) or --images and --poses (generation mode)")
    if gen and (args.images is None or args.poses is None or len(args.model) != 1 or args.out is None):
        p.error("generation mode needs --images, --poses, exactly one --model and --out")
    if args.label and len(args.label) != len(args.model):
        p.error(f"got {len(args.label)} --label for {len(args.model)} --model; give one per model or none")
    return args


def _parse_size(text: str, flag: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text or "")
    if not m:
        raise EvaluationError(f"{flag} must be HEIGHTxWIDTH such as 128x64, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _label(model: str, taken: set[str]) -> str:
    base = Path(model.rstrip("/")).name or model
    label, k = base, 2
    while label in taken or label == BASELINE_LABEL:
        label, k = f"{base}-{k}", k + 1
    return label


def run(args: argparse.Namespace) -> dict | list:
    device = torch.device(args.device)
    if args.images is not None:
        pipe = PG2.from_pretrained(args.model[0], device=device)
        frame = _parse_size(args.pose_frame, "--pose-frame") if args.pose_frame else None
        manifest = generate_only(pipe, args.images, args.poses, args.out, pairs_csv=args.pairs, pose_frame=frame,
                                 batch_size=args.batch_size, strips=args.strips)
        print(f"wrote {len(manifest)} images to {args.out / 'images'} (list: {args.out / 'manifest.csv'})")
        return manifest

    dataset, geometry = load_test_split(args.data, args.split, args.geometry)
    rows, taken = [], set()
    for i, model in enumerate(args.model):
        label = args.label[i] if args.label else _label(model, taken)
        taken.add(label)
        pipe = PG2.from_pretrained(model, device=device)
        info = dict(model_image_size=list(pipe.image_size), stages="G1 + G2" if pipe.g2 is not None else "G1 only")
        if tuple(pipe.image_size) != geometry.size:
            info["note"] = (f"model works at {pipe.image_size[0]}x{pipe.image_size[1]}; the pipeline letterboxes the "
                            f"{geometry.size[0]}x{geometry.size[1]} inputs into it and crops the outputs back")
        rows.append(Row(label, pipeline_generator(pipe, args.batch_size), model, info))

    backbones = Backbones.load(not args.no_inception, args.inception_weights, not args.no_lpips,
                               args.alexnet_weights, device)
    for note in backbones.notes:
        print(f"warning: {note}", file=sys.stderr)
    fid_real = args.fid_real or (args.data / "train")
    fid_desc = "none"
    if backbones.inception is not None:
        if fid_real.is_dir():
            real = list_images(fid_real)
            backbones.load_real_set(real, geometry, args.batch_size)
            fid_desc = f"{fid_real} ({len(real)} images)"
        elif args.fid_real is not None:
            raise EvaluationError(f"--fid-real {fid_real} does not exist")
    result = evaluate_table(dataset, rows, geometry, backbones, out_dir=args.out, batch_size=args.batch_size,
                            strips=args.strips, is_splits=args.is_splits, limit=args.limit, fid_real=fid_desc)
    print(markdown_table(result))
    if args.out is not None:
        print(f"saved {args.out / 'results.json'} and {args.out / 'results.md'}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except (EvaluationError, DatasetError, PoseError, CheckpointError, ImageInputError, M.MetricWeightsUnavailable) as e:
        print(f"evaluate.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    sys.exit(main())
