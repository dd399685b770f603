"""Draw the README / model-card example strips from synthetic people (never from research-only data).

    python model_cards/make_examples.py            # writes model_cards/examples-<model>.png

Each row: [condition (synthetic person) | target pose | G1 coarse | G2 refined], made with the
committed demo checkpoints through the one inference path, `PG2.__call__`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pg2_hub import PG2
from pg2_hub.presets import get_preset
from pg2_hub.synthetic import Appearance, render_person

HERE = Path(__file__).resolve().parent
ROWS = [("standing front", "walking (front)"), ("standing front", "arms raised"), ("standing back", "standing front"),
        ("walking (front)", "side (facing left)")]


def strip(pipe: PG2, seed: int = 0) -> Image.Image:
    h, w = pipe.image_size
    rng = np.random.default_rng(seed)
    tiles = []
    for source, target in ROWS:
        person = render_person(get_preset(source, image_size=(h, w)), Appearance.sample(rng))
        pose = get_preset(target, image_size=(h, w))
        out = pipe(person, pose)
        tiles.append([person, out.pose[0], out.coarse[0], out.refined[0]])
    sheet = Image.new("RGB", (4 * w, len(tiles) * h), (255, 255, 255))
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            sheet.paste(tile, (c * w, r * h))
    return sheet


def main() -> None:
    for folder in sorted((HERE.parent / "checkpoints").glob("pg2-*-demo")):
        path = HERE / f"examples-{folder.name}.png"
        strip(PG2.from_pretrained(folder)).save(path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
