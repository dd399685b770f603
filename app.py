"""PG2 demo: a Gradio app that runs as a Hugging Face Space or locally (`python app.py --help`).

Upload a person photo, choose a target pose (from a second photo, a preset, an OpenPose JSON file or
the joint editor), press Generate: the page shows the target pose drawing, the G1 coarse image and
the G2 refined image. The "Pose sequence" tab interpolates between two poses into an animated GIF.

All image and pose preprocessing happens in `pg2_hub` (PG2.__call__); this file only fixes what a
user uploads (EXIF rotation, transparency, greyscale, huge photos) and turns errors into messages.

API (gradio_client), see README.md, "Call the API":
    /generate           (person_image, pose_json) -> (pose drawing, coarse, refined, status)
    /generate_sequence  (person_image, start_pose_json, end_pose_json, num_frames, frame_ms) -> (gif, status)
    /detect_pose        (pose_photo) -> pose_json
    /preset_pose        (name) -> pose_json
    /load_pose_json     (json_file) -> pose_json
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from pg2_hub import PG2, CheckpointError, ImageInputError, Pose, PoseError
from pg2_hub.detect import DEFAULT_REPO as OPENPOSE_REPO
from pg2_hub.geometry import MIN_IMAGE_SIDE, to_rgb
from pg2_hub.detect import DetectorWeightsError, OpenPoseDetector
from pg2_hub.pipeline import as_pose, bf16_is_fast
from pg2_hub.pose import JOINT_NAMES
from pg2_hub.presets import PRESET_SIZE, get_preset, preset_names
from pg2_hub.synthetic import Appearance, render_person

log = logging.getLogger("pg2_app")

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = HERE / "checkpoints" / "pg2-deepfashion-demo"
MAX_SIDE = 1024  # uploads with a longer side are downscaled (with a notice)
MAX_UPLOAD_PIXELS = 120_000_000  # refuse to decode anything larger (decompression bombs)
DEFAULT_PRESET = "walking (front)"
SEQUENCE_START_PRESET, SEQUENCE_END_PRESET = "standing front", "arms raised"
CURRENT_POSE = "current target pose"
RANDOM_MODEL_CONFIG = dict(image_height=128, image_width=64, hidden=16)
JOINT_CHOICES = [f"{i} {name}" for i, name in enumerate(JOINT_NAMES)]


# ---- model -------------------------------------------------------------------------------------


@dataclass
class ModelInfo:
    """What the page says about the loaded model."""

    name: str
    source: str
    training_data: str
    untrained: bool
    image_size: tuple[int, int]
    parameters: int

    def markdown(self) -> str:
        h, w = self.image_size
        text = (f"**Model:** `{self.name}` ({self.source}) · **Training data:** {self.training_data} · "
                f"**Geometry:** {h}x{w} · **Parameters:** {self.parameters / 1e6:.1f} M")
        if self.untrained:
            text = ("⚠️ **Untrained, random weights — outputs are noise.** This is a randomly initialised "
                    "small PG2 so the app runs before trained weights exist; start the app with "
                    "`--model PATH_OR_REPO` for a trained model.\n\n" + text)
        return text


def random_model(seed: int = 0) -> PG2:
    """A small randomly initialised PG2 (Market geometry, 16 hidden channels): fast, untrained."""
    torch.manual_seed(seed)
    return PG2(g1_config=dict(RANDOM_MODEL_CONFIG), g2_config=dict(RANDOM_MODEL_CONFIG),
               model_name="pg2-random-small")


def describe_model(pipe: PG2, source: str) -> ModelInfo:
    """Model name and training data from the model's config (and its card's `datasets`, if any)."""
    facts = pipe.describe()
    training = facts["training"]
    data = training.get("dataset") or training.get("datasets")
    card = Path(source) / "README.md"
    if not data and card.is_file():
        try:
            from huggingface_hub import ModelCard

            data = ModelCard.load(card).data.to_dict().get("datasets")
        except Exception:  # a card without front matter says nothing about data
            data = None
    if isinstance(data, (list, tuple)):
        data = ", ".join(map(str, data))
    untrained = not training
    return ModelInfo(
        name=facts["model_name"],
        source=source,
        training_data=str(data) if data else ("none (random weights)" if untrained else "not stated"),
        untrained=untrained,
        image_size=tuple(facts["image_size"]),
        parameters=facts["g1_parameters"] + facts["g2_parameters"],
    )


def load_model(model: str | None, device: str = "cpu") -> tuple[PG2, ModelInfo]:
    """Load `model` (folder or Hub repo id); None = the bundled demo checkpoint, else a random model.

    Raises:
        CheckpointError: `model` was named but cannot be loaded (the message says why).
    """
    if model is None:
        if (DEFAULT_MODEL_DIR / "config.json").is_file():
            model = str(DEFAULT_MODEL_DIR)
        else:
            pipe = random_model().to(device).eval()
            return pipe, describe_model(pipe, "random init: no checkpoints/pg2-deepfashion-demo yet")
    pipe = PG2.from_pretrained(model, device=device).eval()
    return pipe, describe_model(pipe, model)


# ---- uploads and poses -------------------------------------------------------------------------


def _error(message: str) -> gr.Error:
    """A message for the page (gr.Error renders HTML, so escape it) and for API clients."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def load_photo(path: str | None, what: str = "person photo") -> tuple[Image.Image, list[str]]:
    """Open an uploaded file as an upright RGB image of at most MAX_SIDE pixels a side.

    Returns:
        (image, notes): notes say what was changed (rotation, transparency, downscaling).
    """
    if not path:
        raise _error(f"Upload a {what} first.")
    notes = []
    try:
        with Image.open(path) as f:
            if f.width * f.height > MAX_UPLOAD_PIXELS:
                raise _error(f"The {what} is {f.width}x{f.height} pixels ({f.width * f.height / 1e6:.0f} MP); "
                             f"upload one under {MAX_UPLOAD_PIXELS / 1e6:.0f} megapixels.")
            original = f.size
            f.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale, much faster
            if f.getexif().get(0x0112, 1) != 1:
                notes.append("rotated upright using the photo's EXIF orientation")
            image = ImageOps.exif_transpose(f)
            image.load()
    except gr.Error:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise _error(f"The uploaded {what} is not an image that can be read ({type(e).__name__}). "
                     "Upload a PNG or JPEG photo.") from e
    image, note = to_rgb(image)
    notes += [note] if note else []
    if min(image.size) < MIN_IMAGE_SIDE:
        raise _error(f"The {what} is only {image.width}x{image.height} pixels; upload a real photo.")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if image.size != original and max(original) > MAX_SIDE:
        notes.append(f"downscaled from {original[0]}x{original[1]} to {image.width}x{image.height} "
                     f"(photos are limited to {MAX_SIDE} px a side)")
    return image, notes


def pose_from_text(text: str | None, frame: tuple[int, int]) -> Pose:
    """Parse the target-pose box and fit it into the (h, w) `frame` of the person photo.

    Accepted: OpenPose JSON (COCO-18 or BODY_25 `pose_keypoints_2d`, with or without
    canvas_width/canvas_height, pixels or normalised), a list of 18 [x, y] or [x, y, score], or
    {"keypoints": [[x, y], ...], "image_size": [h, w]}. A pose with a frame of its own is fitted in
    with the pipeline's letterbox rule; one without is taken to be in `frame`.
    """
    if not text or not text.strip():
        raise _error("Choose a target pose first: detect it from a photo, pick a preset, upload "
                     "OpenPose JSON or place joints in the editor.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise _error(f"The target pose is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}).") from e
    try:
        if isinstance(data, dict) and "people" in data:
            try:
                pose = Pose.from_openpose_json(data)  # its own canvas, when it has one
            except PoseError:
                pose = Pose.from_openpose_json(data, image_size=frame)  # normalised, no canvas
        elif isinstance(data, dict) and "keypoints" in data:
            pose = Pose.from_array(data["keypoints"], image_size=data.get("image_size"))
        elif isinstance(data, list):
            pose = Pose.from_array(data)
        else:
            raise PoseError("expected OpenPose JSON ({\"people\": [{\"pose_keypoints_2d\": [...]}]}), "
                            "a list of 18 [x, y] pairs, or {\"keypoints\": [...], \"image_size\": [h, w]}")
        return as_pose(pose, frame)
    except (PoseError, ValueError, TypeError) as e:
        raise _error(f"The target pose cannot be used: {e}") from e


def pose_to_text(pose: Pose) -> str:
    """Compact OpenPose JSON (one decimal) for the target-pose box."""
    data = pose.to_openpose_json()
    person = data["people"][0]
    person["pose_keypoints_2d"] = [round(v, 1) for v in person["pose_keypoints_2d"]]
    return json.dumps(data)


def preset_text(name: str) -> str:
    """OpenPose JSON of a preset in its own 256x176 frame (fitted to the photo at generation)."""
    try:
        return pose_to_text(get_preset(name))
    except PoseError as e:
        raise _error(str(e)) from e


def _frame_of(person_image: str | None) -> tuple[tuple[int, int], Image.Image | None]:
    """(h, w) the pose editor works in: the person photo's, else the preset frame."""
    if not person_image:
        return PRESET_SIZE, None
    try:
        image, _ = load_photo(person_image)
    except gr.Error:
        return PRESET_SIZE, None
    return (image.height, image.width), image


def render_editor(person_image: str | None, pose_text: str | None, joint: str | None = None) -> Image.Image:
    """The editor canvas: the dimmed photo (or black) with the target skeleton and the chosen joint ringed."""
    frame, image = _frame_of(person_image)
    canvas = Image.new("RGB", (frame[1], frame[0])) if image is None else Image.blend(
        image, Image.new("RGB", image.size), 0.45)
    try:
        pose = pose_from_text(pose_text, frame)
    except gr.Error:
        return canvas
    canvas = pose.draw(canvas=canvas, radius=max(3, round(min(frame) / 64)))
    if joint in JOINT_CHOICES:
        j = JOINT_CHOICES.index(joint)
        if pose.visible[j]:
            x, y = pose.keypoints[j]
            r = max(6, round(min(frame) / 25))
            ImageDraw.Draw(canvas).ellipse([x - r, y - r, x + r, y + r], outline=(255, 255, 255), width=2)
    return canvas


def _editable_pose(person_image: str | None, pose_text: str | None) -> tuple[np.ndarray, tuple[int, int]]:
    frame, _ = _frame_of(person_image)
    try:
        keypoints = pose_from_text(pose_text, frame).to_array()
    except gr.Error:
        keypoints = np.full((len(JOINT_NAMES), 2), -1.0, dtype=np.float32)
    return keypoints, frame


def place_joint(person_image, pose_text, joint, evt: gr.SelectData):
    """Editor click: move the chosen joint to the clicked pixel and select the next joint."""
    keypoints, frame = _editable_pose(person_image, pose_text)
    j = JOINT_CHOICES.index(joint) if joint in JOINT_CHOICES else 0
    x, y = evt.index[0], evt.index[1]
    keypoints[j] = (min(max(float(x), 0.0), frame[1] - 1), min(max(float(y), 0.0), frame[0] - 1))
    text = pose_to_text(Pose.from_array(keypoints, image_size=frame))
    return text, JOINT_CHOICES[(j + 1) % len(JOINT_CHOICES)]


def clear_joint(person_image, pose_text, joint):
    """Editor: mark the chosen joint as missing."""
    keypoints, frame = _editable_pose(person_image, pose_text)
    if joint in JOINT_CHOICES:
        keypoints[JOINT_CHOICES.index(joint)] = -1
    return pose_to_text(Pose.from_array(keypoints, image_size=frame))


def clear_all_joints(person_image):
    """Editor: start from an empty pose."""
    frame, _ = _frame_of(person_image)
    return pose_to_text(Pose.from_array(np.full((len(JOINT_NAMES), 2), -1.0), image_size=frame))


def load_pose_json(file) -> str:
    """Read an uploaded OpenPose JSON file into the target-pose box (validated)."""
    path = file if isinstance(file, (str, os.PathLike)) or file is None else getattr(file, "name", None)
    if not path:
        raise _error("Upload an OpenPose .json file.")
    try:
        text = Path(path).read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _error(f"The uploaded file is not JSON ({type(e).__name__}); upload an OpenPose .json file.") from e
    pose_from_text(text, PRESET_SIZE)  # validate now, so the message comes at upload
    return text


def preset_gallery() -> list[tuple[Image.Image, str]]:
    """Preset drawings for the gallery."""
    return [(get_preset(name).draw(), name) for name in preset_names()]


# ---- example people (never from ../shared/data) ------------------------------------------------


def example_people(out_dir: str | os.PathLike, count: int = 3, seed: int = 0) -> list[str]:
    """Write `count` synthetic people (pg2_hub.synthetic, drawn in preset poses) and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    poses = ["standing front", "hands on hips", "side (facing left)", "walking (front)"]
    paths = []
    for i in range(count):
        image = render_person(get_preset(poses[i % len(poses)]), Appearance.sample(rng))
        path = out_dir / f"example_person_{i}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def examples_from_folder(folder: str | os.PathLike) -> list[str]:
    """Image files of a folder given with --examples (sorted, at most 12)."""
    exts = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in exts)
    if not files:
        raise SystemExit(f"--examples {folder}: no .png/.jpg/.webp images there")
    return [str(p) for p in files[:12]]


# ---- the page ----------------------------------------------------------------------------------


def photo_input(**kwargs) -> gr.Image:
    """A gr.Image whose upload reaches the app as the file's path, unopened, so that every upload
    problem (not an image, a decompression bomb...) becomes the app's own readable message.

    (The stock preprocess opens the file first and fails with PIL's message. A per-instance override,
    because a gr.Image subclass makes Gradio write an app.pyi stub next to this file.)
    """
    image = gr.Image(type="filepath", image_mode=None, **kwargs)
    stock_preprocess = image.preprocess

    def preprocess(payload):
        if payload is None or payload.path is None or (payload.url or "").startswith("data:"):
            return stock_preprocess(payload)
        return str(payload.path)

    image.preprocess = preprocess
    return image


class DetectorHolder:
    """Loads the OpenPose detector on first use (its weights may be missing offline).

    Args:
        source: Hub repo id, folder or .pth of the body weights; or a ready detector (anything
            with `detect(image) -> Pose`), used as it is.
        device: torch device for the detector.
    """

    def __init__(self, source, device: str):
        self.source, self.device = source, device
        self._detector = None if isinstance(source, (str, os.PathLike)) else source
        self._lock = threading.Lock()

    def get(self) -> OpenPoseDetector:
        with self._lock:
            if self._detector is None:
                self._detector = OpenPoseDetector.from_pretrained(self.source, device=self.device)
            return self._detector


def build_demo(
    pipe: PG2,
    info: ModelInfo,
    openpose=OPENPOSE_REPO,
    examples: list[str] | None = None,
    device: str = "cpu",
    max_frames: int = 24,
) -> gr.Blocks:
    """Build the Blocks app around a loaded PG2 pipeline.

    Args:
        pipe: the model (loaded once, shared by all requests).
        info: what the page says about it.
        openpose: OpenPose body weights (Hub repo id, folder or .pth) for "pose from a photo", or a
            detector object with `detect(image) -> Pose`.
        examples: person image paths for the examples row (None: drawn synthetic people).
        device: device for the pose detector.
        max_frames: most frames a pose sequence may have.
    """
    detector = DetectorHolder(openpose, device)
    model_lock = threading.Lock()  # one forward pass at a time, whichever endpoint asks
    gif_dir = tempfile.TemporaryDirectory(prefix="pg2_app_")
    if examples is None:
        examples = example_people(Path(gif_dir.name) / "examples")

    def run_model(image: Image.Image, poses: list[Pose]):
        try:
            with model_lock:
                return pipe(image, poses if len(poses) > 1 else poses[0])
        except (PoseError, ImageInputError) as e:
            raise _error(str(e)) from e

    def generate(person_image, pose_json, progress=gr.Progress()):
        """Person photo + target pose JSON -> (pose drawing, coarse G1, refined G2, status)."""
        start = time.perf_counter()
        progress(0.05, desc="Reading the photo")
        image, notes = load_photo(person_image)
        pose = pose_from_text(pose_json, (image.height, image.width))
        progress(0.3, desc="Generating (G1, then G2)")
        out = run_model(image, [pose])
        status = f"Done in {time.perf_counter() - start:.1f} s with `{info.name}`, {pose.num_visible}/18 joints."
        if notes:
            status += " Note: " + "; ".join(notes) + "."
            gr.Info("Photo " + "; ".join(notes) + ".")
        if info.untrained:
            status += " (Untrained random model: outputs are noise.)"
        return out.pose[0], out.coarse[0], out.refined[0], status

    def generate_sequence(person_image, start_pose_json, end_pose_json, num_frames=8, frame_ms=120,
                          progress=gr.Progress()):
        """Person photo + two pose JSONs -> animated GIF interpolating between them, and a status."""
        start = time.perf_counter()
        try:
            n = int(num_frames)
            frame_ms = int(frame_ms)
        except (TypeError, ValueError) as e:
            raise _error("num_frames and frame_ms must be whole numbers.") from e
        if not 2 <= n <= max_frames:
            raise _error(f"num_frames must be between 2 and {max_frames}, got {n}.")
        frame_ms = min(max(frame_ms, 20), 2000)
        image, notes = load_photo(person_image)
        frame = (image.height, image.width)
        pose_a, pose_b = pose_from_text(start_pose_json, frame), pose_from_text(end_pose_json, frame)
        poses = [pose_a.interpolate(pose_b, t) for t in np.linspace(0.0, 1.0, n)]
        frames = []
        for i in progress.tqdm(range(0, n, 4), desc="Generating frames"):
            frames += run_model(image, poses[i:i + 4]).refined
        path = Path(gif_dir.name) / f"sequence_{uuid.uuid4().hex[:12]}.gif"
        frames = frames + frames[-2:0:-1]  # there and back again, so the loop is smooth
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
        status = f"{n} poses, {len(frames)} GIF frames in {time.perf_counter() - start:.1f} s with `{info.name}`."
        if notes:
            status += " Note: " + "; ".join(notes) + "."
        return str(path), status

    def detect_pose(pose_photo) -> str:
        """Photo of someone in the wanted pose -> OpenPose JSON of the most confident person."""
        image, _ = load_photo(pose_photo, "pose photo")
        try:
            pose = detector.get().detect(image)
        except DetectorWeightsError as e:
            raise _error(f"Pose detection is unavailable: {e}") from e
        except PoseError as e:  # includes NoPersonFoundError
            raise _error(str(e)) from e
        if pose.num_visible < pipe.min_joints:
            raise _error(f"Only {pose.num_visible} joints were found in the pose photo; at least "
                         f"{pipe.min_joints} are needed. Try a photo showing the whole body.")
        return pose_to_text(pose)

    def sequence_choice(choice: str, current_pose: str) -> str:
        return current_pose if choice == CURRENT_POSE else preset_text(choice)

    with gr.Blocks(title="PG2: Pose Guided Person Image Generation", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# PG2: Pose Guided Person Image Generation\n"
                    "Upload a person, choose a target pose, press **Generate**. Implementation of "
                    "[Ma et al., NIPS 2017](https://arxiv.org/abs/1705.09368): G1 makes a coarse image, "
                    "G2 refines it.")
        gr.Markdown(info.markdown(), elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=1):
                person = photo_input(label="Person photo", sources=["upload", "clipboard", "webcam"], elem_id="person-image")
                if examples:
                    gr.Examples(examples=[[p] for p in examples], inputs=[person], label="Example people")
            with gr.Column(scale=2):
                with gr.Tabs():
                    with gr.Tab("Preset poses"):
                        preset_name = gr.Dropdown(preset_names(), value=DEFAULT_PRESET, label="Preset")
                        gallery = gr.Gallery(value=preset_gallery(), columns=6, height=300, format="png",
                                             allow_preview=False, label="Click a pose", elem_id="preset-gallery")
                    with gr.Tab("Pose from a photo"):
                        pose_photo = photo_input(label="Photo of someone in the target pose", height=300)
                        detect_button = gr.Button("Detect pose")
                        if isinstance(openpose, (str, os.PathLike)):
                            gr.Markdown(f"OpenPose body model: `{openpose}` (loaded on first use).")
                    with gr.Tab("OpenPose JSON"):
                        json_file = gr.File(label="OpenPose JSON (COCO-18 or BODY_25)", file_types=[".json"],
                                            type="filepath")
                    with gr.Tab("Edit joints"):
                        gr.Markdown("Pick a joint, click on the picture to place it (the next joint is then "
                                    "selected), or clear it. Coordinates are in the person photo's pixels.")
                        with gr.Row():
                            joint = gr.Dropdown(JOINT_CHOICES, value=JOINT_CHOICES[0], label="Joint")
                            clear_button = gr.Button("Clear joint")
                            clear_all_button = gr.Button("Clear all")
                        editor = gr.Image(label="Click to place the joint", interactive=False, format="png",
                                          buttons=[], elem_id="pose-editor")
                with gr.Accordion("Target pose (OpenPose JSON, editable)", open=False):
                    pose_json = gr.Textbox(value=preset_text(DEFAULT_PRESET), lines=4, label="pose_json", show_label=False,
                                           elem_id="pose-json")
                generate_button = gr.Button("Generate", variant="primary", elem_id="generate")
        status = gr.Markdown(label="status", elem_id="status")
        with gr.Row():
            out_pose = gr.Image(label="Target pose", format="png", interactive=False,
                                buttons=["download", "fullscreen"], elem_id="out-pose")
            out_coarse = gr.Image(label="G1 coarse", format="png", interactive=False,
                                  buttons=["download", "fullscreen"], elem_id="out-coarse")
            out_refined = gr.Image(label="G2 refined", format="png", interactive=False,
                                   buttons=["download", "fullscreen"], elem_id="out-refined")

        with gr.Accordion("Pose sequence: animate the person between two poses", open=False):
            choices = [CURRENT_POSE] + preset_names()
            with gr.Row():
                seq_start = gr.Dropdown(choices, value=SEQUENCE_START_PRESET, label="Start pose")
                seq_end = gr.Dropdown(choices, value=SEQUENCE_END_PRESET, label="End pose")
                seq_frames = gr.Slider(2, max_frames, value=8, step=1, label="Poses")
                seq_ms = gr.Slider(20, 500, value=120, step=10, label="Milliseconds per frame")
            with gr.Accordion("Start / end pose JSON", open=False):
                seq_start_json = gr.Textbox(value=preset_text(SEQUENCE_START_PRESET), lines=3, label="Start")
                seq_end_json = gr.Textbox(value=preset_text(SEQUENCE_END_PRESET), lines=3, label="End")
            seq_button = gr.Button("Generate sequence", elem_id="generate-sequence")
            seq_status = gr.Markdown(label="sequence_status")
            seq_gif = gr.Image(label="Sequence (GIF)", type="filepath", format="gif", interactive=False,
                               buttons=["download"], elem_id="out-sequence")

        # ---- events: API endpoints first ----
        generate_button.click(generate, [person, pose_json], [out_pose, out_coarse, out_refined, status],
                              api_name="generate", concurrency_id="model", concurrency_limit=1)
        seq_button.click(generate_sequence, [person, seq_start_json, seq_end_json, seq_frames, seq_ms],
                         [seq_gif, seq_status], api_name="generate_sequence", concurrency_id="model")
        detect_button.click(detect_pose, [pose_photo], [pose_json], api_name="detect_pose")
        preset_name.change(preset_text, [preset_name], [pose_json], api_name="preset_pose")
        json_file.upload(load_pose_json, [json_file], [pose_json], api_name="load_pose_json")

        # ---- events: page only ----
        def pick_preset(evt: gr.SelectData):
            return preset_names()[evt.index]

        gallery.select(pick_preset, None, [preset_name], api_visibility="private")
        seq_start.change(sequence_choice, [seq_start, pose_json], [seq_start_json], api_visibility="private")
        seq_end.change(sequence_choice, [seq_end, pose_json], [seq_end_json], api_visibility="private")
        editor.select(place_joint, [person, pose_json, joint], [pose_json, joint], api_visibility="private")
        clear_button.click(clear_joint, [person, pose_json, joint], [pose_json], api_visibility="private")
        clear_all_button.click(clear_all_joints, [person], [pose_json], api_visibility="private")
        for trigger in (pose_json.change, person.change, joint.change):
            trigger(render_editor, [person, pose_json, joint], [editor], api_visibility="private",
                    show_progress="hidden")
        demo.load(render_editor, [person, pose_json, joint], [editor], api_visibility="private")
    demo._pg2_tempdir = gif_dir  # lives as long as the app
    return demo


# ---- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="PG2 Gradio demo (also the Hugging Face Space entry point).")
    parser.add_argument("--model", default=os.environ.get("PG2_MODEL"),
                        help="checkpoint folder or Hub repo id (env PG2_MODEL); default: "
                             "checkpoints/pg2-deepfashion-demo if present, else an untrained random model")
    parser.add_argument("--openpose", default=os.environ.get("PG2_OPENPOSE", OPENPOSE_REPO),
                        help="OpenPose body weights: Hub repo id, folder or body_pose_model.pth (env PG2_OPENPOSE)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 to serve the network)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... or auto")
    parser.add_argument("--examples", default=None, help="folder of person images for the examples row")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                        help="bfloat16 autocast (faster on GPUs and AVX-512 BF16 / AMX CPUs, outputs differ slightly from float32); "
                             "default: on where bf16 is native, off elsewhere")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the networks: ~1.3x faster generation after a ~1 minute first call")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up requests
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    try:
        pipe, info = load_model(args.model, device)
    except CheckpointError as e:
        raise SystemExit(f"Cannot load the model: {e}") from e
    pipe.autocast_bf16 = bf16_is_fast(device) if args.bf16 is None else args.bf16
    if args.compile:
        pipe.compile()
    log.info("model %s (%s) on %s (bf16 autocast %s); training data: %s", info.name, info.source, device,
             "on" if pipe.autocast_bf16 else "off", info.training_data)
    examples = examples_from_folder(args.examples) if args.examples else None
    demo = build_demo(pipe, info, openpose=args.openpose, examples=examples, device=device)
    demo.queue(default_concurrency_limit=4).launch(server_name=args.host, server_port=args.port,
                                                   share=args.share, show_error=True)


if __name__ == "__main__":
    main()
