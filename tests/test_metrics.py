"""pg2_hub.metrics: per-pair metrics against scikit-image on real data, set metrics with tiny backbones."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import structural_similarity

from conftest import SHARED_DATA as DATA
from pg2_hub import metrics
from pg2_hub.metrics import MetricWeightsUnavailable

DATASETS = {  # folder -> (annotation CSV, pairs CSV) of the test split
    "deepfashion": ("fasion-resize-annotation-test.csv", "fasion-resize-pairs-test.csv"),
    "market": ("market-annotation-test.csv", "market-pairs-test.csv"),
}


def real_pairs(dataset: str, n: int = 6) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The first `n` test pairs of ../shared/data as (target name, I_A, I_B) uint8 arrays."""
    root = DATA / dataset
    pairs_csv = root / DATASETS[dataset][1]
    if not pairs_csv.is_file():
        pytest.skip(f"real data not found at {root} (set PG2_SHARED_DATA to the shared data folder)")
    with open(pairs_csv, newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    load = lambda name: np.asarray(Image.open(root / "test" / name).convert("RGB"))  # noqa: E731
    return [(r["to"], load(r["from"]), load(r["to"])) for r in rows]


def skimage_ssim(generated: np.ndarray, target: np.ndarray, variant: str) -> float:
    """The protocol code, written out independently of pg2_hub."""
    if variant == "pg2":  # PG2 released code
        return structural_similarity(target, generated, channel_axis=-1, data_range=255)
    return structural_similarity(  # Deformable-GAN / PATN compute_scores.py
        target, generated, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1,
        data_range=int(generated.max()) - int(generated.min()),
    )


# ---------------------------------------------------------------------------------------------------
# per-pair metrics


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("variant", ["pg2", "patn"])
def test_ssim_matches_skimage_on_real_images(dataset, variant):
    for _, I_A, I_B in real_pairs(dataset):
        expected = skimage_ssim(I_A, I_B, variant)
        assert abs(metrics.ssim(I_A, I_B, variant=variant) - expected) < 1e-6
        # PIL input gives the same number
        assert abs(metrics.ssim(Image.fromarray(I_A), Image.fromarray(I_B), variant=variant) - expected) < 1e-6


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("variant", ["pg2", "patn"])
def test_mask_ssim_matches_skimage_on_real_images(dataset, variant):
    from pg2_hub.pose import read_annotation_csv

    pairs = real_pairs(dataset)
    poses = read_annotation_csv(DATA / dataset / DATASETS[dataset][0], image_size=pairs[0][2].shape[:2])
    for to, I_A, I_B in pairs:
        M_B = poses[to].pose_mask()  # (H, W) {0, 1}
        assert M_B.shape == I_B.shape[:2] and 0 < M_B.sum() < M_B.size
        masked = lambda x: (x * M_B[..., None]).astype(np.uint8)  # noqa: E731
        expected = skimage_ssim(masked(I_A), masked(I_B), variant)
        assert abs(metrics.mask_ssim(I_A, I_B, M_B, variant=variant) - expected) < 1e-6


@pytest.mark.parametrize("variant", ["pg2", "patn"])
def test_perfect_prediction(variant):
    _, _, I_B = real_pairs("market", 1)[0]
    assert metrics.ssim(I_B, I_B, variant=variant) == pytest.approx(1.0, abs=1e-12)
    assert metrics.psnr(I_B, I_B) == float("inf")
    assert metrics.l1(I_B, I_B) == 0.0


def test_l1_and_psnr_known_values():
    black, white = np.zeros((8, 6, 3), np.uint8), np.full((8, 6, 3), 255, np.uint8)
    assert metrics.l1(black, white) == pytest.approx(2.0)  # pixels in [-1, 1]
    grey = np.full((8, 6, 3), 10, np.uint8)
    assert metrics.psnr(grey, black) == pytest.approx(20 * np.log10(255 / 10))


def test_constant_generated_image_patn_ssim_is_finite():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)
    value = metrics.ssim(np.full_like(target, 128), target, variant="patn")
    assert np.isfinite(value)


def test_bad_inputs_fail_loudly():
    a = np.zeros((8, 6, 3), np.uint8)
    with pytest.raises(TypeError, match="uint8"):
        metrics.ssim(a.astype(np.float32), a)
    with pytest.raises(ValueError, match="differ in size"):
        metrics.ssim(a, np.zeros((8, 7, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown SSIM variant"):
        metrics.ssim(a, a, variant="gaussian")
    with pytest.raises(ValueError, match="only 0 and 1"):
        metrics.mask_ssim(a, a, np.full((8, 6), 0.5))
    with pytest.raises(ValueError, match="does not match"):
        metrics.mask_ssim(a, a, np.ones((6, 8)))


# ---------------------------------------------------------------------------------------------------
# Inception Score and FID with a small feature network built here


class TinyFeatures(torch.nn.Module):
    """A stand-in backbone: per-channel means and stds as 'pool' features, a fixed linear map to 'logits'."""

    def __init__(self, classes: int = 5):
        super().__init__()
        torch.manual_seed(0)
        self.head = torch.nn.Linear(6, classes)
        self.seen: list[tuple] = []

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.seen.append((x.dtype, tuple(x.shape)))
        x = x.double() / 255  # (B, 3, H, W)
        pool = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)  # (B, 6)
        return {"pool": pool, "logits": self.head.double()(pool) * 10}


def random_images(n: int, seed: int, size=(16, 12)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(n)]


def reference_inception_score(logits: np.ndarray, splits: int) -> tuple[float, float]:
    """The OpenAI formula, written out: exp(mean KL(p(y|x) || p(y))) per consecutive split."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    scores = []
    for chunk in np.array_split(p, splits):
        q = chunk.mean(0, keepdims=True)
        scores.append(np.exp((chunk * (np.log(chunk) - np.log(q))).sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def test_inception_score_formula():
    n, k = 40, 8
    # uniform predictions: IS 1; confident predictions spread evenly over k classes: IS k
    assert metrics.inception_score_from_logits(torch.zeros(n, k), splits=4)[0] == pytest.approx(1.0)
    confident = torch.nn.functional.one_hot(torch.arange(n) % k, k).double() * 100
    assert metrics.inception_score_from_logits(confident, splits=5)[0] == pytest.approx(k, rel=1e-6)
    logits = torch.randn(n, k, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    mean, std = metrics.inception_score_from_logits(logits, splits=4)
    assert (mean, std) == pytest.approx(reference_inception_score(logits.numpy(), 4), rel=1e-9)
    with pytest.raises(ValueError, match="at least 10 images"):
        metrics.inception_score_from_logits(logits[:5], splits=10)


def test_inception_score_through_a_backbone():
    net = TinyFeatures()
    images = random_images(20, seed=1)
    mean, _ = metrics.inception_score(images, splits=2, feature_fn=net, batch_size=8)
    assert net.seen == [(torch.uint8, (8, 3, 16, 12)), (torch.uint8, (8, 3, 16, 12)), (torch.uint8, (4, 3, 16, 12))]
    logits = torch.cat([net(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2))["logits"]])
    assert mean == pytest.approx(reference_inception_score(logits.numpy(), 2)[0], rel=1e-9)


def test_fid():
    net = TinyFeatures()
    images = random_images(24, seed=2)
    assert metrics.fid(images, images, feature_fn=net, batch_size=7) == pytest.approx(0.0, abs=1e-6)
    assert metrics.fid(images, random_images(24, seed=3), feature_fn=net) > 1e-4
    # identical covariances, means apart by c: FID = |c|^2
    f = torch.randn(50, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    c = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, 1.0], dtype=torch.float64)
    assert metrics.fid_from_features(f + c, f) == pytest.approx(float(c @ c), rel=1e-6)


def test_inception_wrapper_maps_torch_fidelity_outputs(monkeypatch, tmp_path):
    """The real torch-fidelity network (random weights: the file is not shipped) behind load_inception."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    weights = tmp_path / "inception.pth"
    torch.save({}, weights)
    monkeypatch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state_dict: None)
    feature_fn = metrics.load_inception(weights)
    out = metrics.extract_features(random_images(1, seed=4, size=(32, 32)), feature_fn)
    assert out["pool"].shape == (1, 2048) and out["logits"].shape == (1, 1008)


# ---------------------------------------------------------------------------------------------------
# backbone weights offline


def test_offline_without_weights_gives_clear_error(offline_hub, tmp_path):
    with pytest.raises(MetricWeightsUnavailable, match="cannot be downloaded") as e:
        metrics.inception_score(random_images(10, seed=5))
    assert "--inception-weights" in str(e.value) and metrics.INCEPTION_URL in str(e.value)
    with pytest.raises(MetricWeightsUnavailable, match="--alexnet-weights"):
        metrics.load_lpips()
    with pytest.raises(MetricWeightsUnavailable, match="does not exist"):
        metrics.load_inception(tmp_path / "missing.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(1)}, wrong)
    with pytest.raises(MetricWeightsUnavailable, match="not torchvision's AlexNet"):
        metrics.load_lpips(wrong)


def test_weights_taken_from_the_hub_cache(offline_hub):
    cached = offline_hub / "checkpoints" / "alexnet-owt-7be5be79.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert metrics.resolve_weights(None, metrics.ALEXNET_URL, "AlexNet", "--alexnet-weights") == cached


# ---------------------------------------------------------------------------------------------------
# LPIPS


def test_lpips_with_local_alexnet_weights(tmp_path):
    import lpips
    from torchvision.models import alexnet

    torch.manual_seed(0)
    weights = tmp_path / "alexnet.pth"
    torch.save({f"features.{k}": v for k, v in alexnet().features.state_dict().items()}, weights)
    model = metrics.load_lpips(weights)
    assert torch.equal(model.net.slice5[-2].weight, torch.load(weights)["features.10.weight"])

    generated, targets = random_images(3, seed=6, size=(64, 48)), random_images(3, seed=7, size=(64, 48))
    d = metrics.lpips_distances(generated, targets, model=model, batch_size=2)
    assert d.shape == (3,) and (d > 0).all()
    assert metrics.lpips_distances(targets, targets, model=model) == pytest.approx(0.0, abs=1e-6)
    # the lpips package itself, given [-1, 1] tensors, agrees
    to_tensor = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    with torch.no_grad():
        direct = model(to_tensor(generated), to_tensor(targets)).reshape(-1).numpy()
    np.testing.assert_allclose(d, direct, rtol=1e-5)
    assert isinstance(model, lpips.LPIPS)


def test_lpips_with_a_stand_in_model():
    mse = lambda a, b: ((a - b) ** 2).mean(dim=(1, 2, 3), keepdim=True)  # noqa: E731
    g, t = random_images(4, seed=8), random_images(4, seed=9)
    expected = [((x / 127.5 - y / 127.5) ** 2).mean() for x, y in zip(np.float64(g), np.float64(t))]
    np.testing.assert_allclose(metrics.lpips_distances(g, t, model=mse, batch_size=3), expected, rtol=1e-5)
