"""PG2 pipeline: save/load round trips, clear load failures, input handling, framing and batching."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from conftest import ROOT, TINY_G1, TINY_G2
from pg2_hub import G1, PG2, CheckpointError, ImageInputError, Letterbox, Pose, PoseError

W, H = 44, 64  # a caller's image, narrower than the 64x32 model's aspect ratio


def tiny_pipe(seed: int = 0, **kwargs) -> PG2:
    torch.manual_seed(seed)
    return PG2(g1_config=TINY_G1, g2_config=TINY_G2, **kwargs)


def person(seed: int = 0, size=(W, H)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def keypoints() -> np.ndarray:
    kp = np.full((18, 2), -1.0, dtype=np.float32)
    kp[:9] = [[22, 8], [22, 16], [15, 16], [12, 26], [10, 36], [29, 16], [32, 26], [34, 36], [17, 38]]
    return kp


@pytest.fixture
def pipe() -> PG2:
    return tiny_pipe()


# ---- save / load ---------------------------------------------------------------------------------
def test_save_and_load_reproduces_outputs_bit_for_bit(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    loaded = PG2.from_pretrained(tmp_path)
    a = pipe(person(), keypoints(), output_type="pt")
    b = loaded(person(), keypoints(), output_type="pt")
    assert torch.equal(a.coarse, b.coarse) and torch.equal(a.refined, b.refined)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["g1_config"]["levels"] == 3 and config["g2_config"]["hidden"] == 8  # complete, resolved


def test_single_stage_models_round_trip(tmp_path):
    torch.manual_seed(1)
    g1 = G1(**TINY_G1)
    g1.save_pretrained(tmp_path)
    x, p = torch.randn(1, 3, 64, 32), torch.randn(1, 18, 64, 32)
    with torch.no_grad():
        assert torch.equal(g1(x, p), G1.from_pretrained(tmp_path)(x, p))


def test_stage1_only_pipeline_returns_coarse_as_refined(tmp_path):
    pipe = PG2(g1_config=TINY_G1)
    out = pipe(person(), keypoints(), output_type="pt")
    assert torch.equal(out.coarse, out.refined)
    pipe.save_pretrained(tmp_path)
    assert PG2.from_pretrained(tmp_path).g2 is None


def test_from_models_copies_weights():
    torch.manual_seed(3)
    g1 = G1(**TINY_G1)
    pipe = PG2.from_models(g1, model_name="x")
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), pipe.g1.state_dict().values()))


def test_model_card_is_filled(pipe, tmp_path):
    pipe.training_info = {"dataset": "synthetic", "steps": 12}
    pipe.save_pretrained(tmp_path)
    card = (tmp_path / "README.md").read_text()
    assert "library_name: pg2-hub" in card and "datasets:" in card and "- synthetic" in card
    assert "| steps | 12 |" in card and "Limitations" in card and "non-commercial research" in card
    assert f"{sum(p.numel() for p in pipe.g1.parameters()):,} parameters" in card


def test_untrained_card_says_so(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    assert "**Untrained.**" in (tmp_path / "README.md").read_text()


def test_repo_id_offline_raises_a_clear_error_naming_the_repo(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match=r"pg2-hub/does-not-exist.*HF_HUB_OFFLINE"):
        PG2.from_pretrained("pg2-hub/does-not-exist")


def test_missing_local_folder_is_reported():
    with pytest.raises(CheckpointError, match="does not exist"):
        PG2.from_pretrained("./no/such/folder")


def test_missing_weights_file(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        PG2.from_pretrained(tmp_path)


def test_missing_config(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        PG2.from_pretrained(tmp_path)


def save_with_g1_config(pipe: PG2, folder, **changes) -> None:
    """Save `pipe`, then change its G1 config on disk (the weights stay as they were)."""
    pipe.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["g1_config"].update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_mismatched_config_and_weights(pipe, tmp_path):
    save_with_g1_config(pipe, tmp_path, hidden=16)
    with pytest.raises(CheckpointError, match="wrong shape"):
        PG2.from_pretrained(tmp_path)


def test_weights_with_missing_tensors_never_load_silently(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    del state["g2.out.weight"]
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"missing \(e.g. g2.out.weight\)"):
        PG2.from_pretrained(tmp_path)


def test_corrupt_weights_file(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        PG2.from_pretrained(tmp_path)


def test_invalid_config_values(pipe, tmp_path):
    save_with_g1_config(pipe, tmp_path, image_height=60)
    with pytest.raises(CheckpointError, match="does not describe a valid PG2"):
        PG2.from_pretrained(tmp_path)


# ---- framing ------------------------------------------------------------------------------------
def test_deepfashion_letterbox_is_the_40px_white_padding():
    box = Letterbox((256, 176), (256, 256))
    image = Image.new("RGB", (176, 256), (10, 20, 30))
    padded = np.asarray(box.image(image))
    assert padded.shape == (256, 256, 3)
    assert (padded[:, :40] == 255).all() and (padded[:, 216:] == 255).all() and (padded[:, 40:216] == [10, 20, 30]).all()
    pose = box.pose(Pose.from_array(keypoints(), image_size=(256, 176)))
    assert pose.image_size == (256, 256)
    np.testing.assert_allclose(pose.keypoints[:9], keypoints()[:9] + [40, 0])
    assert np.array_equal(np.asarray(box.invert(Image.fromarray(padded))), np.asarray(image))


def test_letterbox_scales_and_centres():
    box = Letterbox((100, 100), (64, 32))  # square -> scaled to 32x32, 16 px bands top and bottom
    assert box.scaled_size == (32, 32) and box.offset == (16, 0)
    pose = box.pose(Pose.from_array([[49.5, 49.5]] + [[-1, -1]] * 17, image_size=(100, 100)))
    np.testing.assert_allclose(pose.keypoints[0], [15.5, 31.5])  # the centre stays the centre


def test_outputs_come_back_in_the_callers_framing(pipe):
    out = pipe(person(), keypoints())
    assert [im.size for im in out.coarse + out.refined + out.pose] == [(W, H)] * 3
    arrays = pipe(person(), keypoints(), output_type="np")
    assert arrays.refined[0].shape == (H, W, 3) and arrays.refined[0].dtype == np.uint8
    pt = pipe(person(), keypoints(), output_type="pt")
    assert pt.refined.shape == (1, 3, 64, 32)


def test_input_types_agree(pipe):
    image = person()
    as_np = np.array(image)
    as_pt = torch.from_numpy(as_np).permute(2, 0, 1).float() / 127.5 - 1
    outs = [pipe(x, keypoints(), output_type="pt").refined for x in (image, as_np, as_pt)]
    assert torch.equal(outs[0], outs[1]) and torch.allclose(outs[0], outs[2], atol=1e-5)


def test_pose_forms_agree(pipe):
    kp = keypoints()
    pose = Pose.from_array(kp, image_size=(H, W))
    as_json = pose.to_openpose_json()
    outs = [pipe(person(), p, output_type="pt").refined for p in (kp, kp.tolist(), pose, as_json, json.dumps(as_json))]
    assert all(torch.equal(outs[0], o) for o in outs[1:])


def test_pose_in_its_own_frame_is_fitted_like_the_image(pipe):
    """A Pose detected on a 2x larger photo gives the same result as the same pose in the image's frame."""
    big_kp = np.where(keypoints() < 0, -1, (keypoints() + 0.5) * 2 - 0.5)
    big = Pose.from_array(big_kp, image_size=(2 * H, 2 * W))
    a = pipe(person(), big, output_type="pt").refined
    b = pipe(person(), keypoints(), output_type="pt").refined
    assert torch.allclose(a, b)


def test_batches_and_broadcasting(pipe):
    images = [person(i) for i in range(3)]
    poses = [keypoints(), keypoints() + 1, keypoints() + 2]
    poses = [np.where(keypoints() < 0, -1, p) for p in poses]
    batch = pipe(images, poses, output_type="pt", batch_size=2)
    assert batch.refined.shape == (3, 3, 64, 32)
    single = pipe(images[1], poses[1], output_type="pt")
    assert torch.allclose(batch.refined[1], single.refined[0], atol=1e-5)
    assert len(pipe(images[0], poses).refined) == 3  # one person, three poses
    assert len(pipe(images, poses[0]).refined) == 3  # three people, one pose
    with pytest.raises(ValueError, match="3 condition images but 2 target poses"):
        pipe(images, poses[:2])


def test_bfloat16_paths_run_close_to_float32(pipe):
    ref = pipe(person(), keypoints(), output_type="pt").refined
    pipe.autocast_bf16 = True
    autocast = pipe(person(), keypoints(), output_type="pt").refined
    pipe.autocast_bf16 = False
    weights = pipe.to(dtype=torch.bfloat16)(person(), keypoints(), output_type="pt").refined
    assert autocast.dtype == weights.dtype == torch.float32
    assert 0 < (autocast - ref).abs().max() < 0.05 and 0 < (weights - ref).abs().max() < 0.05


def test_training_info_survives_eval_and_reload(pipe, tmp_path):
    pipe.training_info = {"dataset": "synthetic"}
    pipe.eval().save_pretrained(tmp_path)
    loaded = PG2.from_pretrained(tmp_path)
    assert loaded.training is False and loaded.training_info == {"dataset": "synthetic"}
    assert loaded.describe()["training"] == {"dataset": "synthetic"}


# ---- bad input ----------------------------------------------------------------------------------
def test_pose_without_joints(pipe):
    with pytest.raises(PoseError, match="has 0 of 18 joints; at least 4 are needed"):
        pipe(person(), np.full((18, 2), -1.0))


def test_pose_with_too_few_joints(pipe):
    kp = np.full((18, 2), -1.0)
    kp[:2] = [[10, 10], [12, 20]]
    with pytest.raises(PoseError, match="has 2 of 18 joints"):
        pipe(person(), kp)


def test_tiny_image(pipe):
    with pytest.raises(ImageInputError, match="1x1 pixels; give a photo of a person"):
        pipe(Image.new("RGB", (1, 1)), keypoints())


@pytest.mark.parametrize("bad", ["not/a/file.png", 42, np.zeros((4, 4, 7), np.uint8)])
def test_non_image(pipe, bad):
    with pytest.raises(ImageInputError):
        pipe(bad, keypoints())


def test_text_file_is_not_an_image(pipe, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ImageInputError, match="not a readable image file"):
        pipe(str(path), keypoints())


def test_wrong_length_keypoint_list(pipe):
    with pytest.raises(PoseError, match="18"):
        pipe(person(), [[10, 10]] * 17)


def test_rgba_and_greyscale_inputs(pipe):
    rgba = person().convert("RGBA")
    grey = person().convert("L")
    assert pipe(rgba, keypoints()).refined[0].mode == "RGB"
    assert pipe(grey, keypoints()).refined[0].size == (W, H)


def test_package_imports_after_install():
    code = "from pg2_hub import PG2, G1, G2, Discriminator, Pose; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
    assert ROOT.joinpath("pg2_hub").is_dir()


def test_card_template_is_found_without_installing(monkeypatch):
    """Run from a source checkout (a Space, PYTHONPATH=.) the template is read from model_cards/."""
    from pg2_hub import card

    def not_installed(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(card.resources, "files", not_installed)
    assert "# {{ model_name }}" in card.card_template()


@pytest.mark.slow
def test_compiled_pipeline_gives_the_same_outputs(tmp_path):
    pipe = tiny_pipe()
    ref = pipe(person(), keypoints(), output_type="pt").refined
    pipe.compile()
    assert torch.allclose(pipe(person(), keypoints(), output_type="pt").refined, ref, atol=1e-5)
    pipe.save_pretrained(tmp_path)  # compiling in place keeps the state-dict keys
    assert torch.allclose(PG2.from_pretrained(tmp_path)(person(), keypoints(), output_type="pt").refined, ref, atol=1e-5)
