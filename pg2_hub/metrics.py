"""Table 1 metrics: SSIM (PG2 and PATN variants), mask-SSIM, PSNR, L1, IS / mask-IS, FID and LPIPS.

Every metric takes images as uint8 RGB arrays (H, W, 3) or PIL images, the GENERATED image first and
the TARGET (I_B) second, and works at whatever size it is given: the geometry (DeepFashion 256x176
or padded 256x256) is chosen by the caller and must be reported beside the number.

- Per-pair metrics (`ssim`, `mask_ssim`, `psnr`, `l1`) call scikit-image, which IS the reference
  protocol (PG2's released code and the Deformable-GAN / PATN `compute_scores.py`).
- Set metrics (`inception_score`, `fid`) use torch-fidelity's port of the 2015-12-05 Inception-v3
  graph (the one the OpenAI IS code and TTUR FID use); `lpips` uses the `lpips` package (AlexNet,
  v0.1). Their backbone weights are downloaded to the torch hub cache on first use or taken from a
  local file; offline without them a `MetricWeightsUnavailable` error says what to download.
- Every set metric also accepts a `feature_fn`, so tests (and users with their own backbone) can
  check the computation with a small network.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ImageLike = np.ndarray | Image.Image
#: uint8 images (B, 3, H, W) -> {"pool": (B, D) features for FID, "logits": (B, K) class logits for IS}
FeatureFn = Callable[[torch.Tensor], dict[str, torch.Tensor]]

#: torch-fidelity's conversion of the TF Inception-v3 graph of 2015-12-05 (IS: OpenAI code, FID: TTUR).
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
#: torchvision's ImageNet AlexNet, the backbone of LPIPS (the linear heads ship inside the lpips package).
ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"

#: scikit-image keyword arguments per SSIM variant (PG2 spec section 6). "patn" additionally sets
#: data_range from the generated image, see `ssim`.
SSIM_VARIANTS: dict[str, dict] = {
    "pg2": dict(gaussian_weights=False),  # 7x7 uniform window, sample covariance, data_range 255
    "patn": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
}


class MetricWeightsUnavailable(RuntimeError):
    """The backbone weights a metric needs are neither cached nor downloadable; the message says what to do."""


# ----------------------------------------------------------------------------------------------------
# image helpers


def to_uint8_rgb(image: ImageLike, name: str = "image") -> np.ndarray:
    """Return `image` as a uint8 (H, W, 3) array; PIL images are converted to RGB.

    Float arrays are rejected rather than guessed at: convert with `(x * 255).round().astype(np.uint8)`
    (for [0, 1]) or `((x + 1) * 127.5).round()` (for [-1, 1]) yourself.
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"{name} must be uint8 RGB (H, W, 3) or a PIL image, got dtype {array.dtype}")
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {array.shape}")
    return array


def _pair(generated: ImageLike, target: ImageLike) -> tuple[np.ndarray, np.ndarray]:
    g, t = to_uint8_rgb(generated, "generated"), to_uint8_rgb(target, "target")
    if g.shape != t.shape:
        raise ValueError(f"generated {g.shape} and target {t.shape} images differ in size")
    return g, t


def apply_mask(image: ImageLike, mask: np.ndarray) -> np.ndarray:
    """Multiply a uint8 RGB image by a binary (H, W) mask, as the mask-SSIM / mask-IS protocol does.

    Args:
        image: uint8 RGB (H, W, 3) array or PIL image.
        mask: (H, W) array of 0/1 (any numeric or bool dtype), e.g. `Pose.pose_mask()` of the TARGET pose.
    """
    array = to_uint8_rgb(image)
    mask = np.asarray(mask)
    if mask.shape != array.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image size {array.shape[:2]}")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("mask must hold only 0 and 1 (the binary pose mask M_B)")
    return array * mask.astype(np.uint8)[..., None]


# ----------------------------------------------------------------------------------------------------
# per-pair metrics


def ssim(generated: ImageLike, target: ImageLike, variant: str = "pg2") -> float:
    """Structural similarity of one generated image to its target, on uint8 RGB.

    Args:
        generated: the generated image (G2 output, or the copied condition image for the baseline).
        target: the ground-truth target image I_B, same size.
        variant: "pg2": PG2's released code, `structural_similarity(data_range=255, channel_axis=-1)`
            with scikit-image's defaults (7x7 uniform window, sample covariance).
            "patn": the Deformable-GAN / PATN `compute_scores.py`, Gaussian window sigma 1.5,
            `use_sample_covariance=False`, and `data_range = generated.max() - generated.min()`
            exactly as that code does (255 if the generated image is constant, where the range is 0).
    """
    if variant not in SSIM_VARIANTS:
        raise ValueError(f"unknown SSIM variant {variant!r}; choose one of {sorted(SSIM_VARIANTS)}")
    g, t = _pair(generated, target)
    data_range = 255.0
    if variant == "patn":
        data_range = float(g.max()) - float(g.min()) or 255.0
    return float(structural_similarity(t, g, data_range=data_range, channel_axis=-1, **SSIM_VARIANTS[variant]))


def mask_ssim(generated: ImageLike, target: ImageLike, mask: np.ndarray, variant: str = "pg2") -> float:
    """SSIM after multiplying BOTH images by the target pose mask M_B (Market-1501 mask-SSIM).

    Args:
        generated, target, variant: as in `ssim`.
        mask: (H, W) binary mask of the TARGET pose, `Pose.pose_mask()` (the released PG2 mask).
    """
    g, t = _pair(generated, target)
    return ssim(apply_mask(g, mask), apply_mask(t, mask), variant=variant)


def psnr(generated: ImageLike, target: ImageLike) -> float:
    """Peak signal-to-noise ratio in dB, data_range 255 (`inf` for identical images)."""
    g, t = _pair(generated, target)
    if np.array_equal(g, t):
        return float("inf")
    return float(peak_signal_noise_ratio(t, g, data_range=255))


def l1(generated: ImageLike, target: ImageLike) -> float:
    """Mean absolute difference with pixels scaled to [-1, 1] (as in the Deformable-GAN / PATN
    `compute_scores.py`, and as PG2's L1 loss sees images). Halve it for the [0, 1] convention."""
    g, t = _pair(generated, target)
    return float(np.abs(g.astype(np.float64) - t.astype(np.float64)).mean() / 127.5)


# ----------------------------------------------------------------------------------------------------
# backbone weights


def _hub_checkpoint_path(url: str) -> Path:
    """Where torch.hub (and torch-fidelity / torchvision) cache the file at `url`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def resolve_weights(path: str | os.PathLike | None, url: str, what: str, flag: str) -> Path:
    """Return a local weights file: `path` if given, else the torch hub cache, downloading on a miss.

    Args:
        path: a local file the user passed, or None for the library's usual download.
        url: where the library downloads the file from.
        what: human name of the weights for messages ("Inception-v3 (torch-fidelity)").
        flag: the command-line flag a user passes the file with ("--inception-weights").

    Raises:
        MetricWeightsUnavailable: `path` does not exist, or nothing is cached and the download fails.
    """
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise MetricWeightsUnavailable(f"{what} weights file {file} does not exist (passed as {flag}).")
        return file
    cached = _hub_checkpoint_path(url)
    if cached.is_file():
        return cached
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(cached), progress=False)
    except Exception as e:  # no network, proxy, read-only cache: all end here with one message
        raise MetricWeightsUnavailable(
            f"{what} weights are not in the torch hub cache ({cached}) and cannot be downloaded "
            f"(no network? {type(e).__name__}: {e}). Download {url} on a machine with network access and "
            f"pass {flag} PATH, or copy the file to {cached}."
        ) from e
    return cached


# ----------------------------------------------------------------------------------------------------
# Inception Score and FID


def load_inception(weights_path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> FeatureFn:
    """torch-fidelity's Inception-v3 (2015-12-05 graph) as a `FeatureFn`.

    Returns a function mapping uint8 images (B, 3, H, W) of any size to {"pool": (B, 2048) pool3
    features (FID), "logits": (B, 1008) logits without the bias term (IS, as the OpenAI code)}.
    The images are resized to 299x299 inside, with TF1-compatible bilinear interpolation.

    Args:
        weights_path: local copy of `INCEPTION_URL`; None takes the torch hub cache or downloads it.
        device: where the network runs.

    Raises:
        MetricWeightsUnavailable: no weights file and no network.
    """
    file = resolve_weights(weights_path, INCEPTION_URL, "Inception-v3 (torch-fidelity)", "--inception-weights")
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3  # slow import: after the check
    try:
        net = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(file)
        )
    except Exception as e:
        raise MetricWeightsUnavailable(
            f"{file} is not torch-fidelity's Inception-v3 weights ({type(e).__name__}: {e}); download {INCEPTION_URL}"
        ) from e
    net = net.to(device).eval()

    @torch.no_grad()
    def feature_fn(images: torch.Tensor) -> dict[str, torch.Tensor]:
        pool, logits = net(images.to(device))
        return {"pool": pool, "logits": logits}

    return feature_fn


def _batches(images: Iterable[ImageLike], batch_size: int) -> Iterable[torch.Tensor]:
    """Yield uint8 tensors (B, 3, H, W) from an iterable of images of one size."""
    batch: list[np.ndarray] = []
    for image in images:
        array = to_uint8_rgb(image)
        if batch and array.shape != batch[0].shape:
            raise ValueError(f"all images of a set must share one size, got {batch[0].shape} and {array.shape}")
        batch.append(array)
        if len(batch) == batch_size:
            yield torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
            batch = []
    if batch:
        yield torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def extract_features(images: Iterable[ImageLike], feature_fn: FeatureFn, batch_size: int = 32) -> dict[str, torch.Tensor]:
    """Run `feature_fn` over a set of images in batches and concatenate its outputs (float64, CPU)."""
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in _batches(images, batch_size):
        for key, value in feature_fn(batch).items():
            parts.setdefault(key, []).append(value.detach().double().cpu())
    if not parts:
        raise ValueError("no images to extract features from")
    return {key: torch.cat(values) for key, values in parts.items()}


def inception_score_from_logits(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """Inception Score exp(E_x KL(p(y|x) || p(y))), mean and std over `splits` consecutive chunks.

    torch-fidelity's implementation without shuffling, i.e. the chunking of the OpenAI code.
    """
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, classes), got {tuple(logits.shape)}")
    if logits.shape[0] < splits:
        raise ValueError(f"Inception Score with {splits} splits needs at least {splits} images, got {logits.shape[0]}")
    out = isc_features_to_metric(logits.detach().double().cpu(), splits=splits, shuffle=False)
    return out[KEY_METRIC_ISC_MEAN], out[KEY_METRIC_ISC_STD]


def fid_from_features(features: torch.Tensor, real_features: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (torch-fidelity / TTUR formula)."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

    for name, f in (("features", features), ("real_features", real_features)):
        if f.ndim != 2 or f.shape[0] < 2:
            raise ValueError(f"{name} must be (N >= 2, D), got {tuple(f.shape)}")
    stats = fid_features_to_statistics(features.detach().double().cpu())
    real_stats = fid_features_to_statistics(real_features.detach().double().cpu())
    return float(fid_statistics_to_metric(stats, real_stats, verbose=False)[KEY_METRIC_FID])


def inception_score(
    images: Iterable[ImageLike],
    *,
    splits: int = 10,
    feature_fn: FeatureFn | None = None,
    weights_path: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> tuple[float, float]:
    """Inception Score (mean, std over `splits`) of a set of generated images.

    For mask-IS pass the generated images multiplied by their target pose masks (`apply_mask`).

    Args:
        images: uint8 RGB images of one size.
        splits: 10 in the protocol.
        feature_fn: a backbone returning {"logits": (B, K)}; default `load_inception(weights_path)`.
        weights_path: local Inception-v3 weights for the default backbone.
        batch_size, device: how the backbone runs.
    """
    feature_fn = feature_fn or load_inception(weights_path, device)
    return inception_score_from_logits(extract_features(images, feature_fn, batch_size)["logits"], splits)


def fid(
    images: Iterable[ImageLike],
    real_images: Iterable[ImageLike],
    *,
    feature_fn: FeatureFn | None = None,
    weights_path: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> float:
    """Frechet Inception Distance between generated images and a real set (the training images).

    Both sets are fed to the same backbone at their own size (torch-fidelity resizes to 299x299);
    use the same geometry and a lossless format for both (see README.md, "Known pitfalls").

    Args:
        images, real_images: uint8 RGB images (each set of one size).
        feature_fn: a backbone returning {"pool": (B, D)}; default `load_inception(weights_path)`.
        weights_path, batch_size, device: as in `inception_score`.
    """
    feature_fn = feature_fn or load_inception(weights_path, device)
    features = extract_features(images, feature_fn, batch_size)["pool"]
    real_features = extract_features(real_images, feature_fn, batch_size)["pool"]
    return fid_from_features(features, real_features)


# ----------------------------------------------------------------------------------------------------
# LPIPS


def load_lpips(alexnet_weights_path: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
    """The `lpips` package's LPIPS v0.1 with an AlexNet backbone, returned as an `lpips.LPIPS` module.

    The linear heads ship inside the lpips package; the AlexNet ImageNet weights are torchvision's
    (`ALEXNET_URL`), taken from `alexnet_weights_path`, the torch hub cache, or downloaded.

    Raises:
        MetricWeightsUnavailable: no AlexNet weights file and no network.
    """
    file = resolve_weights(alexnet_weights_path, ALEXNET_URL, "AlexNet (torchvision, for LPIPS)", "--alexnet-weights")
    import lpips  # slow imports: after the check
    from torchvision.models import alexnet
    features = alexnet().features  # only the conv part is used by LPIPS
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
        features.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
    except Exception as e:
        raise MetricWeightsUnavailable(
            f"{file} is not torchvision's AlexNet weights ({type(e).__name__}: {e}); download {ALEXNET_URL}"
        ) from e
    with warnings.catch_warnings():  # lpips builds its (random) AlexNet with torchvision's deprecated `pretrained=`
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)
    # lpips splits alexnet.features into slices whose layers are named by their index in `features`
    for slice_ in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for index, layer in slice_.named_children():
            layer.load_state_dict(features[int(index)].state_dict())
    return model.to(device).eval()


def _to_minus1_1(batch: torch.Tensor) -> torch.Tensor:
    return batch.float() / 127.5 - 1.0  # uint8 (B, 3, H, W) -> [-1, 1], the input LPIPS expects


@torch.no_grad()
def lpips_distances(
    generated: Sequence[ImageLike],
    targets: Sequence[ImageLike],
    *,
    model: torch.nn.Module | None = None,
    alexnet_weights_path: str | os.PathLike | None = None,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """LPIPS (AlexNet, v0.1) of every generated image to its target, shape (N,); report the mean.

    Args:
        generated, targets: equal-length sequences of uint8 RGB images, pairwise of one size.
        model: any module taking two [-1, 1] batches (B, 3, H, W) and returning (B, 1, 1, 1)
            distances; default `load_lpips(alexnet_weights_path)`.
    """
    if len(generated) != len(targets):
        raise ValueError(f"{len(generated)} generated images but {len(targets)} targets")
    model = model or load_lpips(alexnet_weights_path, device)
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    device = params[0].device if params else device  # inputs go where the model is
    out = []
    for g, t in zip(_batches(generated, batch_size), _batches(targets, batch_size)):
        if g.shape != t.shape:
            raise ValueError(f"generated {tuple(g.shape)} and target {tuple(t.shape)} batches differ in size")
        out.append(model(_to_minus1_1(g).to(device), _to_minus1_1(t).to(device)).reshape(-1).double().cpu())
    return torch.cat(out).numpy()


__all__ = [
    "ALEXNET_URL",
    "INCEPTION_URL",
    "SSIM_VARIANTS",
    "FeatureFn",
    "MetricWeightsUnavailable",
    "apply_mask",
    "extract_features",
    "fid",
    "fid_from_features",
    "inception_score",
    "inception_score_from_logits",
    "l1",
    "load_inception",
    "load_lpips",
    "lpips_distances",
    "mask_ssim",
    "psnr",
    "resolve_weights",
    "ssim",
    "to_uint8_rgb",
]
