"""train/evaluate.py: the Table 1 protocol on real and synthetic data, generation mode, clear CLI errors."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import ROOT, TINY_G1, TINY_G2
from pg2_hub import PG2, metrics
from pg2_hub.pose import read_annotation_csv
from pg2_hub.synthetic import make_synthetic_dataset

sys.path.insert(0, str(ROOT / "train"))
import evaluate  # noqa: E402

SYNTHETIC_SIZE = (64, 32)  # = the tiny model geometry
PAIR_METRICS = ("ssim_pg2", "ssim_patn", "mask_ssim_pg2", "mask_ssim_patn", "psnr", "l1")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """3 test people x 2 poses (6 pairs) and 2 train people, 64x32, in the Pose-Transfer layout."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), image_size=SYNTHETIC_SIZE,
                                  people={"train": 2, "test": 3}, poses_per_person=2, background="white")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> tuple[Path, Path]:
    """Two tiny random checkpoints: full G1+G2, and G1 only (an ablation row)."""
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    PG2(g1_config=TINY_G1, g2_config=TINY_G2, model_name="tiny-full").save_pretrained(root / "tiny-full")
    PG2(g1_config=TINY_G1, model_name="tiny-g1").save_pretrained(root / "tiny-g1")
    return root / "tiny-full", root / "tiny-g1"


def run_cli(*argv) -> int:
    return evaluate.main([str(a) for a in argv])


# ---------------------------------------------------------------------------------------------------
# the copy baseline on real data against an independent scikit-image computation


def independent_baseline(root: Path, n: int, pad: int) -> dict[str, float]:
    """Copy-I_A metrics written out with PIL, numpy and scikit-image only (pad = white px left and right)."""
    pairs = list(csv.DictReader(open(next(root.glob("*-pairs-test.csv")), newline="")))[:n]
    load = lambda name: np.asarray(Image.open(root / "test" / name).convert("RGB"))  # noqa: E731
    size = load(pairs[0]["to"]).shape[:2]
    poses = read_annotation_csv(next(root.glob("*-annotation-test.csv")), image_size=size)
    white = lambda x: np.pad(x, ((0, 0), (pad, pad), (0, 0)), constant_values=255)  # noqa: E731
    rows = {k: [] for k in PAIR_METRICS}
    for pair in pairs:
        I_A, I_B = white(load(pair["from"])), white(load(pair["to"]))
        M_B = poses[pair["to"]].pad(0, 0, pad, pad).pose_mask()[..., None].astype(np.uint8)
        pg2 = lambda a, b: structural_similarity(b, a, channel_axis=-1, data_range=255)  # noqa: E731
        patn = lambda a, b: structural_similarity(  # noqa: E731
            b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1,
            data_range=int(a.max()) - int(a.min()))
        rows["ssim_pg2"].append(pg2(I_A, I_B))
        rows["ssim_patn"].append(patn(I_A, I_B))
        rows["mask_ssim_pg2"].append(pg2(I_A * M_B, I_B * M_B))
        rows["mask_ssim_patn"].append(patn(I_A * M_B, I_B * M_B))
        rows["psnr"].append(peak_signal_noise_ratio(I_B, I_A, data_range=255))
        rows["l1"].append(np.abs(I_A / 127.5 - I_B / 127.5).mean())
    return {k: float(np.mean(v)) for k, v in rows.items()}


@pytest.mark.parametrize("dataset, geometry, pad", [
    ("market", "native", 0),
    ("deepfashion", "native", 0),
    ("deepfashion", "256x256", 40),  # PG2's DeepFashion frame: 40 px of white each side
])
def test_copy_baseline_matches_scikit_image_on_real_data(shared_data, tmp_path, dataset, geometry, pad):
    n = 6
    assert run_cli("--data", shared_data / dataset, "--limit", n, "--geometry", geometry, "--out", tmp_path,
                   "--no-inception", "--no-lpips", "--batch-size", 4) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    (row,) = result["rows"]
    assert row["label"] == evaluate.BASELINE_LABEL and row["n_pairs"] == n
    expected = independent_baseline(shared_data / dataset, n, pad)
    for key in PAIR_METRICS:
        assert abs(row["metrics"][key] - expected[key]) < 1e-6, key
    if pad:
        assert row["geometry"].startswith("256x256 (256x176 images padded with white") and "40 px left/right" in row["geometry"]
        assert row["metrics"]["ssim_pg2"] > independent_baseline(shared_data / dataset, n, 0)["ssim_pg2"]
    else:
        assert row["geometry"].endswith("(native)")
    for key in ("is", "mask_is", "fid", "lpips"):
        assert row["metrics"][key] == evaluate.NA_SKIPPED
    per_pair = list(csv.DictReader(open(tmp_path / "copy_I_A_baseline" / "per_pair.csv")))
    assert len(per_pair) == n
    assert np.mean([float(r["ssim_pg2"]) for r in per_pair]) == pytest.approx(row["metrics"]["ssim_pg2"], abs=1e-12)


def test_market_cannot_be_padded_to_256x256(shared_data, capsys):
    assert run_cli("--data", shared_data / "market", "--geometry", "256x256", "--no-inception", "--no-lpips") == 2
    assert "rescale" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# synthetic data: perfect generator, tiny models end to end, injected backbones


def test_perfect_generator_scores_ssim_1(synthetic):
    dataset, geometry = evaluate.load_test_split(synthetic, "test", "native")
    perfect = evaluate.Row("perfect", lambda samples: ([s.I_B for s in samples], None))
    result = evaluate.evaluate_table(dataset, [perfect], geometry, evaluate.Backbones(), batch_size=4)
    baseline, row = result["rows"]
    for key in ("ssim_pg2", "ssim_patn", "mask_ssim_pg2", "mask_ssim_patn"):
        assert row["metrics"][key] == pytest.approx(1.0, abs=1e-12)
        assert baseline["metrics"][key] < 1
    assert row["metrics"]["l1"] == 0.0 and row["metrics"]["psnr"] == "inf"
    assert "| perfect | 64x32 | 1.000 | 1.000 |" in evaluate.markdown_table(result)


def test_tiny_models_end_to_end_offline(synthetic, checkpoints, tmp_path, offline_hub, capsys):
    full, g1_only = checkpoints
    out = tmp_path / "eval"
    assert run_cli("--data", synthetic, "--model", full, "--model", g1_only, "--out", out, "--strips",
                   "--batch-size", 4, "--device", "cpu") == 0
    captured = capsys.readouterr()
    assert "--inception-weights" in captured.err and "--alexnet-weights" in captured.err  # how to fix it
    result = json.loads((out / "results.json").read_text())
    assert [r["label"] for r in result["rows"]] == [evaluate.BASELINE_LABEL, "tiny-full", "tiny-g1"]
    assert [r.get("stages") for r in result["rows"]] == [None, "G1 + G2", "G1 only"]
    for row in result["rows"]:
        assert row["n_pairs"] == 6
        for key in ("is", "mask_is", "fid", "lpips"):
            assert row["metrics"][key] == "n/a (weights unavailable)"  # never a made-up number
        assert 0 < row["metrics"]["ssim_pg2"] < 1
    table = (out / "results.md").read_text()
    assert table in captured.out and table.count("\n| ") == 4  # header + 3 rows
    pairs = list(csv.DictReader(open(next(synthetic.glob("*-pairs-test.csv")))))
    for label in ("tiny-full", "tiny-g1"):
        images = sorted(p.name for p in (out / label / "images").iterdir())
        assert images == sorted(f"{p['from']}___{p['to']}.png" for p in pairs)
        with Image.open(out / label / "images" / images[0]) as im:
            assert im.size == (32, 64)
        with Image.open(out / label / "strips" / images[0]) as im:  # [I_A | P_B | G1 | G2 | I_B]
            assert im.size == (5 * 32, 64)
    assert not (out / "copy_I_A_baseline" / "images").exists()


class TinyFeatures(torch.nn.Module):
    """A stand-in Inception: per-channel means/stds as pool features, a fixed linear map as logits."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.head = torch.nn.Linear(6, 4).double()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = x.double() / 255  # (B, 3, H, W)
        pool = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)  # (B, 6)
        return {"pool": pool, "logits": self.head(pool) * 5}


def test_set_metrics_with_injected_backbones(synthetic):
    dataset, geometry = evaluate.load_test_split(synthetic, "test", "native")
    mse = lambda a, b: ((a - b) ** 2).mean(dim=(1, 2, 3), keepdim=True)  # noqa: E731  stand-in LPIPS
    backbones = evaluate.Backbones(inception=TinyFeatures(), inception_na="", lpips=mse, lpips_na="")
    real = evaluate.list_images(synthetic / "train")
    backbones.load_real_set(real, geometry, batch_size=3)
    result = evaluate.evaluate_table(dataset, [], geometry, backbones, batch_size=4, is_splits=2)
    got = result["rows"][0]["metrics"]

    I_A = [np.asarray(dataset.image(a)) for a, _ in dataset.pairs]
    I_B = [np.asarray(dataset.image(b)) for _, b in dataset.pairs]
    M_B = [dataset.pose(b).pose_mask() for _, b in dataset.pairs]
    real_images = [np.asarray(Image.open(p).convert("RGB")) for p in real]
    net = TinyFeatures()
    mean, std = metrics.inception_score(I_A, splits=2, feature_fn=net)
    assert got["is"] == {"mean": pytest.approx(mean, rel=1e-5), "std": pytest.approx(std, rel=1e-4, abs=1e-7)}
    masked = [metrics.apply_mask(a, m) for a, m in zip(I_A, M_B)]
    assert got["mask_is"]["mean"] == pytest.approx(metrics.inception_score(masked, splits=2, feature_fn=net)[0], rel=1e-5)
    assert got["fid"] == pytest.approx(metrics.fid(I_A, real_images, feature_fn=net), rel=1e-4)
    assert got["lpips"] == pytest.approx(metrics.lpips_distances(I_A, I_B, model=mse).mean(), rel=1e-6)


# ---------------------------------------------------------------------------------------------------
# generation mode (re-identification data)


def test_generation_mode_every_person_in_every_pose(synthetic, checkpoints, tmp_path):
    people = tmp_path / "people"
    people.mkdir()
    for p in sorted((synthetic / "test").iterdir())[:2]:
        shutil.copy(p, people / p.name)
    poses_csv = next(synthetic.glob("*-annotation-test.csv"))
    out = tmp_path / "reid"
    assert run_cli("--model", checkpoints[0], "--images", people, "--poses", poses_csv, "--out", out, "--strips") == 0
    manifest = list(csv.DictReader(open(out / "manifest.csv")))
    assert len(manifest) == 2 * 6  # 2 people x 6 poses
    for row in manifest:
        with Image.open(out / row["file"]) as im:
            assert im.size == (32, 64) and row["file"] == f"images/{row['from']}___{row['to']}.png"
    with Image.open(out / "strips" / Path(manifest[0]["file"]).name) as im:
        assert im.size == (4 * 32, 64)  # [I_A | P_B | G1 | G2]

    # OpenPose JSON poses and a pairs list
    json_dir = tmp_path / "poses"
    json_dir.mkdir()
    poses = read_annotation_csv(poses_csv, image_size=SYNTHETIC_SIZE)
    for name in list(poses)[:2]:
        (json_dir / f"{Path(name).stem}.json").write_text(json.dumps(poses[name].to_openpose_json()))
    first = sorted(p.name for p in people.iterdir())[0]
    pose_name = Path(list(poses)[1]).stem
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"from,to\n{first},{pose_name}\n")
    out2 = tmp_path / "reid2"
    assert run_cli("--model", checkpoints[0], "--images", people, "--poses", json_dir, "--pairs", pairs, "--out", out2) == 0
    assert [p.name for p in (out2 / "images").iterdir()] == [f"{first}___{pose_name}.png"]


# ---------------------------------------------------------------------------------------------------
# clear errors


def copy_layout(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_malformed_inputs_name_file_and_line(synthetic, tmp_path, capsys):
    bad = copy_layout(synthetic, tmp_path / "bad_pairs")
    pairs_csv = next(bad.glob("*-pairs-test.csv"))
    lines = pairs_csv.read_text().splitlines()
    pairs_csv.write_text("\n".join(lines[:2] + ["only_one_name.png"] + lines[2:]) + "\n")
    assert run_cli("--data", bad, "--no-inception", "--no-lpips") == 2
    assert f"{pairs_csv}:3" in capsys.readouterr().err

    bad = copy_layout(synthetic, tmp_path / "bad_annotation")
    annotation = next(bad.glob("*-annotation-test.csv"))
    lines = annotation.read_text().splitlines()
    lines[2] = lines[2].split(":")[0] + ": [1, 2, 3]: [4, 5]"
    annotation.write_text("\n".join(lines) + "\n")
    assert run_cli("--data", bad, "--no-inception", "--no-lpips") == 2
    assert f"{annotation}:3" in capsys.readouterr().err

    bad = copy_layout(synthetic, tmp_path / "missing_image")
    victim = sorted((bad / "test").iterdir())[0]
    victim.unlink()
    assert run_cli("--data", bad, "--no-inception", "--no-lpips") == 2
    assert victim.name in capsys.readouterr().err

    assert run_cli("--data", tmp_path / "nowhere") == 2
    assert "does not exist" in capsys.readouterr().err
    assert run_cli("--data", synthetic, "--geometry", "big", "--no-inception", "--no-lpips") == 2
    assert "HEIGHTxWIDTH" in capsys.readouterr().err
    assert run_cli("--data", synthetic, "--model", tmp_path / "no_such_checkpoint") == 2
    assert "no_such_checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli("--data", synthetic, "--model", "a", "--label", "x", "--label", "y")
    with pytest.raises(SystemExit):
        run_cli("--images", tmp_path, "--out", tmp_path)  # generation mode needs --poses and one --model
