"""Where checkpoints come from: a local folder or a Hugging Face Hub repo, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import snapshot_download
from huggingface_hub.errors import HFValidationError

WEIGHT_FILES = ["config.json", "model.safetensors", "README.md"]


class CheckpointError(RuntimeError):
    """A checkpoint cannot be found, downloaded or loaded; the message says what to do."""


def _looks_local(name: str) -> bool:
    """A Hub repo id is `name` or `owner/name`; anything else is a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def resolve_model_dir(name_or_path: str | os.PathLike, **hub_kwargs) -> Path:
    """Return a local folder holding the checkpoint `name_or_path`.

    A local folder is used as it is. Anything else is taken as a Hub repo id and downloaded (or taken
    from the local HF cache) with `snapshot_download`.

    Args:
        name_or_path: folder written by `save_pretrained`, or a Hub repo id such as `user/pg2-market`.
        **hub_kwargs: `revision`, `cache_dir`, `token`, `force_download`, `local_files_only`.

    Raises:
        CheckpointError: the folder does not exist, or the repo cannot be downloaded.
    """
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(f"{name} is a file; pass the folder that save_pretrained wrote (with config.json)")
    if _looks_local(name):
        raise CheckpointError(f"checkpoint folder {name} does not exist")
    try:
        return Path(snapshot_download(repo_id=name, allow_patterns=WEIGHT_FILES, **hub_kwargs))
    except HFValidationError as e:
        raise CheckpointError(f"{name!r} is neither an existing folder nor a valid Hub repo id ({e})") from e
    except Exception as e:  # offline, 404, gated, network: all end here with one clear message
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
        hint = ("HF_HUB_OFFLINE is set, so nothing can be downloaded" if offline
                else "check the repo id, your network and, for a private repo, `hf auth login`")
        raise CheckpointError(
            f"no local folder {name!r}, and the model {name!r} could not be fetched from the Hugging Face Hub "
            f"({type(e).__name__}): {hint}. "
            f"Alternatively download it elsewhere (`hf download {name} --local-dir DIR`) and pass DIR."
        ) from e
