"""Fill an export's model card (name, training facts, evaluation table) and optionally push it.

    python train/publish.py checkpoints/pg2-deepfashion-demo --name pg2-deepfashion-demo \
        --set dataset="DeepFashion In-shop" --set "stage 1"="4,000 steps" --metrics runs/eval/results.md
    python train/publish.py runs/df/stage2/export --push-to-hub user/pg2-deepfashion

Only config.json (model_name, training_info) and README.md (re-rendered from
model_cards/pg2_template.md) change; the weights file is not rewritten.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pg2_hub import PG2


def update(folder: Path, name: str | None, facts: dict[str, str], metrics: str | None) -> PG2:
    """Write the new name/facts/metrics into folder/config.json and re-render folder/README.md."""
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    info = dict(config.get("training_info") or {})
    info.update(facts)
    if metrics is not None:
        info["metrics"] = metrics
    config["training_info"] = info
    if name:
        config["model_name"] = name
    tmp = config_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, sort_keys=True, indent=2))
    os.replace(tmp, config_path)
    pipe = PG2.from_pretrained(folder)  # validates that config and weights still agree
    pipe.generate_model_card().save(folder / "README.md")
    return pipe


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a save_pretrained export (config.json + model.safetensors)")
    parser.add_argument("--name", help="model_name shown on the card and in the app")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a training fact for the card")
    parser.add_argument("--metrics", type=Path, help="markdown table to show under Evaluation (e.g. evaluate.py's results.md)")
    parser.add_argument("--push-to-hub", metavar="REPO", help="then upload the folder to this Hub repo")
    args = parser.parse_args(argv)

    facts = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            parser.error(f"--set {item!r}: expected KEY=VALUE")
        facts[key.strip()] = value.strip()
    metrics = args.metrics.read_text().strip() if args.metrics else None
    pipe = update(args.folder, args.name, facts, metrics)
    print(f"updated {args.folder / 'config.json'} and {args.folder / 'README.md'}")
    if args.push_to_hub:
        from huggingface_hub import HfApi

        url = HfApi().upload_folder(repo_id=HfApi().create_repo(args.push_to_hub, exist_ok=True).repo_id,
                                    folder_path=str(args.folder), commit_message=f"Upload {pipe.model_name}")
        print(f"pushed: {url}")


if __name__ == "__main__":
    main(sys.argv[1:])
