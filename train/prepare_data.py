"""Build the Pose-Transfer layout that train/stage*.py read, from the raw public downloads.

    # Market-1501 (Market-1501-v15.09.15/ with bounding_box_train/ and bounding_box_test/), 128x64
    python train/prepare_data.py market --raw Market-1501-v15.09.15 --out data/market \
        --annotations ../shared/data/annotations

    # DeepFashion In-shop (img/{MEN,WOMEN}/<category>/id_XXXXXXXX/NN_V_view.jpg) -> 256x176
    python train/prepare_data.py deepfashion --raw In-shop --out data/deepfashion \
        --split-lists ../shared/data/annotations --annotations ../shared/data/annotations

Writes OUT/{train,test}/*.jpg, OUT/<prefix>-annotation-{split}.csv and OUT/<prefix>-pairs-{split}.csv
(prefix `market` or `fasion-resize`, spec section 5), plus OUT/prepare_summary.json.

- Geometry: images are scaled to the target height keeping their aspect ratio, then centre-cropped
  (or padded with white) to the target width: Market 128x64 (already so), DeepFashion 256x256 ->
  256x176 (40 px off each side).
- Keypoints: taken from the official annotation CSVs in --annotations (they are in the stored
  frame); images without a row are annotated with the OpenPose detector (pg2_hub.detect) when
  --openpose WEIGHTS is given, and otherwise left out (counted in the summary).
- Pairs: every ordered pair of two different images of one person (--max-pairs-per-person to
  subsample), or the official pairs with --official-pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path

from PIL import Image

from pg2_hub.pose import Pose, read_annotation_csv, write_annotation_csv

DATASETS = {
    # name: (stored size (h, w), CSV prefix, official annotation file pattern)
    "market": ((128, 64), "market", "market-annotation-{split}.csv"),
    "deepfashion": ((256, 176), "fasion-resize", "fasion-resize-annotation-{split}.csv"),
}


# ---- raw file trees ---------------------------------------------------------------------------


def market_images(raw: Path) -> dict[str, dict[str, Path]]:
    """{split: {name: path}} of Market-1501's bounding_box_train / bounding_box_test, junk (-1) and distractors (0000) left out."""
    splits = {}
    for split, folder in (("train", "bounding_box_train"), ("test", "bounding_box_test")):
        if not (raw / folder).is_dir():
            raise SystemExit(f"{raw / folder} is missing: --raw must be the unpacked Market-1501 folder")
        splits[split] = {p.name: p for p in sorted((raw / folder).glob("*.jpg"))
                         if not p.name.startswith(("-1", "0000"))}
    return splits


def deepfashion_name(path: Path) -> str:
    """Pose-Transfer name of an In-shop file: img/WOMEN/Blouses_Shirts/id_00000108/04_1_front.jpg ->
    fashionWOMENBlouses_Shirtsid0000010804_1front.jpg."""
    gender, category, item = path.parts[-4:-1]
    index, rest = path.name.split("_", 1)
    return f"fashion{gender}{category}{item.replace('_', '')}{index}_{rest.replace('_', '')}"


def deepfashion_images(raw: Path, split_lists: Path) -> dict[str, dict[str, Path]]:
    """{split: {name: path}} of the In-shop tree, split by the official fashion-{train,test}.lst."""
    root = raw / "img" if (raw / "img").is_dir() else raw
    files = {deepfashion_name(p): p for p in sorted(root.glob("*/*/*/*.jpg"))}
    if not files:
        raise SystemExit(f"no images under {root}/<MEN|WOMEN>/<category>/<id>/*.jpg: --raw must be the In-shop folder")
    splits = {}
    for split in ("train", "test"):
        lst = split_lists / f"fashion-{split}.lst"
        if not lst.is_file():
            raise SystemExit(f"{lst} is missing: --split-lists must hold fashion-train.lst and fashion-test.lst")
        names = [n.strip() for n in lst.read_text().splitlines() if n.strip()]
        splits[split] = {n: files[n] for n in names if n in files}
    return splits


def person_of(dataset: str, name: str) -> str:
    """The person id of an image: Market `0002_c1s1_000451_03.jpg` -> 0002; DeepFashion: the name before `_<view>.jpg`."""
    return name.split("_")[0] if dataset == "market" else name.rsplit("_", 1)[0]


# ---- geometry ---------------------------------------------------------------------------------


def fit_image(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to height H keeping the aspect ratio, then centre-crop (or pad with white) to width W."""
    h, w = size
    if (image.height, image.width) == (h, w):
        return image
    scaled_w = max(1, round(image.width * h / image.height))
    if image.height != h:
        image = image.resize((scaled_w, h), Image.Resampling.BICUBIC)
    left = (scaled_w - w) // 2
    if left >= 0:
        return image.crop((left, 0, left + w, h))
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    canvas.paste(image, (-left, 0))
    return canvas


# ---- main -------------------------------------------------------------------------------------


def prepare(dataset: str, raw: Path, out: Path, annotations: Path | None = None, split_lists: Path | None = None,
            openpose: str | None = None, official_pairs: bool = False, max_pairs_per_person: int | None = None,
            min_joints: int = 1, seed: int = 0) -> dict:
    """Build OUT in the Pose-Transfer layout (see the module docstring); return the summary."""
    size, prefix, annotation_pattern = DATASETS[dataset]
    if dataset == "market":
        splits = market_images(raw)
    else:
        if split_lists is None:
            raise SystemExit("deepfashion needs --split-lists DIR with the official fashion-train.lst / fashion-test.lst")
        splits = deepfashion_images(raw, split_lists)
    detector = None
    if openpose:
        from pg2_hub.detect import OpenPoseDetector  # needs controlnet-aux and the body weights

        detector = OpenPoseDetector.from_pretrained(openpose)
    rng = random.Random(seed)
    summary = {"dataset": dataset, "image_size": list(size)}
    out.mkdir(parents=True, exist_ok=True)
    for split, images in splits.items():
        official = {}
        if annotations is not None and (annotations / annotation_pattern.format(split=split)).is_file():
            official = read_annotation_csv(annotations / annotation_pattern.format(split=split), image_size=size, on_error="skip")
        (out / split).mkdir(exist_ok=True)
        poses, counts = {}, defaultdict(int)
        for name, path in images.items():
            pose = official.get(name)
            if pose is None and detector is None:
                counts["no_keypoints"] += 1
                continue
            with Image.open(path) as f:
                image = f.convert("RGB")
            fitted = fit_image(image, size)
            if pose is None:
                try:
                    pose = detector.detect(fitted)
                    counts["detected"] += 1
                except ValueError:  # NoPersonFoundError and other PoseErrors
                    counts["no_person_detected"] += 1
                    continue
            if pose.num_visible < min_joints:
                counts["too_few_joints"] += 1
                continue
            kp = pose.keypoints[pose.visible]
            if (kp[:, 0] > size[1] - 1).any() or (kp[:, 1] > size[0] - 1).any():
                counts["keypoints_outside_image"] += 1  # e.g. 8 rows of the official DeepFashion test CSV
                continue
            if fitted is image and path.suffix.lower() in (".jpg", ".jpeg"):
                shutil.copyfile(path, out / split / name)  # already in the target geometry: keep the bytes
            else:
                fitted.save(out / split / name, quality=95)
            poses[name] = Pose(pose.keypoints, image_size=size)
        write_annotation_csv(out / f"{prefix}-annotation-{split}.csv", poses)

        if official_pairs:
            pairs_file = annotations / f"{prefix}-pairs-{split}.csv" if annotations else None
            if pairs_file is None or not pairs_file.is_file():
                raise SystemExit(f"--official-pairs: {pairs_file} is missing")
            rows = [ln.split(",") for ln in pairs_file.read_text().splitlines()[1:] if ln.strip()]
            pairs = [(a.strip(), b.strip()) for a, b in rows if a.strip() in poses and b.strip() in poses]
        else:
            people = defaultdict(list)
            for name in poses:
                people[person_of(dataset, name)].append(name)
            pairs = []
            for names in people.values():
                own = [(a, b) for a in names for b in names if a != b]
                if max_pairs_per_person and len(own) > max_pairs_per_person:
                    own = rng.sample(own, max_pairs_per_person)
                pairs += own
        (out / f"{prefix}-pairs-{split}.csv").write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs))
        summary[split] = {"images_found": len(images), "images_written": len(poses), "pairs": len(pairs), **counts}
        print(f"{split}: {len(poses)} of {len(images)} images, {len(pairs)} pairs"
              + (f"; left out: {dict(counts)}" if counts else ""))
        if counts.get("no_keypoints"):
            print(f"  {counts['no_keypoints']} images have no row in the official annotations; "
                  "pass --openpose path/to/body_pose_model.pth to detect their keypoints")
    (out / "prepare_summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--raw", type=Path, required=True, help="the unpacked public download")
    parser.add_argument("--out", type=Path, required=True, help="output folder (Pose-Transfer layout)")
    parser.add_argument("--annotations", type=Path, help="folder with the official <prefix>-annotation-{train,test}.csv")
    parser.add_argument("--split-lists", type=Path, help="deepfashion: folder with fashion-train.lst / fashion-test.lst")
    parser.add_argument("--openpose", help="OpenPose body weights (file, folder or Hub repo) to annotate images without keypoints")
    parser.add_argument("--official-pairs", action="store_true", help="use <prefix>-pairs-{split}.csv from --annotations")
    parser.add_argument("--max-pairs-per-person", type=int, help="subsample each person's ordered pairs to at most N")
    parser.add_argument("--min-joints", type=int, default=1, help="leave out images with fewer visible joints")
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(argv)
    return prepare(a.dataset, a.raw, a.out, a.annotations, a.split_lists, a.openpose, a.official_pairs,
                   a.max_pairs_per_person, a.min_joints, a.seed)


if __name__ == "__main__":
    main()
