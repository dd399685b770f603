"""pg2-hub: Pose Guided Person Image Generation (PG2, Ma et al. 2017) as Hugging Face Hub models."""

from .geometry import ImageInputError, Letterbox
from .hub import CheckpointError
from .models import G1, G2, PRESETS, Discriminator
from .pipeline import PG2, PG2Output
from .pose import Pose, PoseError

__version__ = "0.1.0"

__all__ = [
    "PG2", "PG2Output", "G1", "G2", "Discriminator", "PRESETS", "Pose", "PoseError",
    "ImageInputError", "CheckpointError", "Letterbox", "__version__",
]
