"""PG2 networks: G1 (pose integration), G2 (refinement) and the discriminator."""

from .blocks import HubModel, load_weights
from .discriminator import Discriminator
from .g1 import G1
from .g2 import G2

#: Released geometries. DeepFashion data is 256x176 and is padded to the 256x256 model (spec section 5).
PRESETS: dict[str, dict] = {
    "market": dict(image_height=128, image_width=64),
    "deepfashion": dict(image_height=256, image_width=256),
}

__all__ = ["G1", "G2", "Discriminator", "HubModel", "PRESETS", "load_weights"]
