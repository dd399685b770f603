"""The Gradio app through its API (gradio_client against a server on 127.0.0.1), plus the presets
and model loading it relies on. The server fixture `pg2_app` (conftest.py) runs a tiny random model."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from pg2_hub import PG2, Pose, PoseError
from pg2_hub.pose import JOINT_NAMES
from pg2_hub.presets import PRESET_SIZE, PRESETS, get_preset, preset_names

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from conftest import TINY_G1, TINY_G2  # noqa: E402

ENDPOINTS = {"/generate", "/generate_sequence", "/detect_pose", "/preset_pose", "/load_pose_json"}


@pytest.fixture(scope="module")
def client(pg2_app):
    return Client(pg2_app.url, verbose=False)


@pytest.fixture(scope="module")
def person_path(pg2_app):
    return pg2_app.examples[0]


def preset_json(name: str) -> str:
    return json.dumps(get_preset(name).to_openpose_json())


def check_outputs(result, size):
    """(pose drawing, coarse, refined, status): three PNGs of the person photo's (w, h) and a status."""
    *images, status = result
    assert len(images) == 3 and isinstance(status, str) and status.startswith("Done")
    for path in images:
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size == size and im.mode == "RGB"
    return status


# ---- presets ----


def test_presets_are_plausible_poses():
    assert len(preset_names()) >= 10 and len(set(preset_names())) == len(preset_names())
    h, w = PRESET_SIZE
    for name in preset_names():
        pose = get_preset(name)
        assert pose.image_size == PRESET_SIZE
        assert pose.num_visible >= 13, name
        kp = pose.keypoints[pose.visible]
        assert (kp[:, 0] <= w - 1).all() and (kp[:, 1] <= h - 1).all(), name
        neck, hips = pose.keypoints[1], pose.keypoints[[8, 11]]
        assert (hips[:, 1] > neck[1]).all() and (pose.keypoints[[10, 13], 1] > hips[:, 1]).all(), name
    # front views show the person's right on the image's left, back views the other way round
    front, back = get_preset("standing front").keypoints, get_preset("standing back").keypoints
    assert front[2, 0] < front[5, 0] and back[2, 0] > back[5, 0] and not get_preset("standing back").visible[0]


def test_mirrored_presets_and_fitting_into_other_frames():
    assert get_preset("side (facing right)") == get_preset("side (facing left)").hflip()
    assert get_preset("Walking (facing right) ") == get_preset("walking (facing left)").hflip()
    square = get_preset("standing front", (256, 256))  # DeepFashion 256x176 -> 256x256: +40 px in x
    np.testing.assert_allclose(square.keypoints, PRESETS["standing front"] + [40, 0])
    big = get_preset("arms out", (512, 352))
    assert big.image_size == (512, 352) and big.keypoints[7, 0] > 2 * PRESETS["arms out"][7, 0] - 1
    with pytest.raises(PoseError, match="standing front"):
        get_preset("moonwalk")


# ---- model loading and the page ----


def test_load_model_default_is_labelled_random_when_no_demo_checkpoint(pg2_app, tmp_path, monkeypatch):
    app = pg2_app.app
    monkeypatch.setattr(app, "DEFAULT_MODEL_DIR", tmp_path / "missing")
    pipe, info = app.load_model(None)
    assert info.untrained and "random" in info.training_data
    assert "Untrained, random weights — outputs are noise" in info.markdown()
    assert pipe.image_size == (128, 64)


def test_load_model_from_folder_shows_name_and_training_data(pg2_app, tmp_path):
    app = pg2_app.app
    PG2(g1_config=dict(TINY_G1), g2_config=dict(TINY_G2), model_name="pg2-fashion-test",
        training_info={"dataset": "DeepFashion In-shop", "steps": 10}).save_pretrained(tmp_path / "ckpt")
    pipe, info = app.load_model(str(tmp_path / "ckpt"))
    assert (info.name, info.training_data, info.untrained) == ("pg2-fashion-test", "DeepFashion In-shop", False)
    assert "pg2-fashion-test" in info.markdown() and "noise" not in info.markdown()
    with pytest.raises(app.CheckpointError):
        app.load_model(str(tmp_path / "nope"))


def test_cli_options(pg2_app):
    args = pg2_app.app.parse_args(["--model", "user/pg2", "--host", "0.0.0.0", "--port", "7000", "--device", "cpu",
                                   "--openpose", "/w/body_pose_model.pth", "--examples", "ex"])
    assert (args.model, args.host, args.port, args.device, args.openpose, args.examples) == (
        "user/pg2", "0.0.0.0", 7000, "cpu", "/w/body_pose_model.pth", "ex")


def test_page_shows_model_and_api_lists_endpoints(pg2_app, client):
    import urllib.request

    config = urllib.request.urlopen(pg2_app.url + "config", timeout=30).read().decode()
    assert "pg2-tiny-test" in config and "outputs are noise" in config
    api = client.view_api(return_format="dict", print_info=False)
    assert ENDPOINTS <= set(api["named_endpoints"])
    params = [p["parameter_name"] for p in api["named_endpoints"]["/generate"]["parameters"]]
    assert params == ["person_image", "pose_json"]


# ---- generation for every pose source ----


def test_generate_with_preset_pose(client, person_path):
    text = client.predict("arms raised", api_name="/preset_pose")
    np.testing.assert_allclose(Pose.from_openpose_json(text).keypoints, get_preset("arms raised").keypoints)
    status = check_outputs(client.predict(handle_file(person_path), text, api_name="/generate"), (176, 256))
    assert "18/18 joints" in status and "noise" in status


def test_generate_with_pose_from_a_second_photo(client, pg2_app, person_path):
    text = client.predict(handle_file(pg2_app.examples[1]), api_name="/detect_pose")
    pose = Pose.from_openpose_json(text)
    assert pose.image_size == (256, 176)  # the pose photo's frame; fitted to the person at generation
    np.testing.assert_allclose(pose.keypoints, get_preset("arms out").keypoints, atol=1e-3)
    check_outputs(client.predict(handle_file(person_path), text, api_name="/generate"), (176, 256))


def test_detect_pose_no_person_is_a_readable_error(client, tmp_path):
    dark = tmp_path / "dark.png"
    Image.new("RGB", (120, 200), (3, 3, 3)).save(dark)
    with pytest.raises(AppError, match="No person found"):
        client.predict(handle_file(str(dark)), api_name="/detect_pose")


@pytest.mark.parametrize("layout", ["coco18_canvas", "body25_normalised", "keypoint_list"])
def test_generate_with_uploaded_openpose_json(client, person_path, tmp_path, layout):
    pose = get_preset("hands on hips")
    if layout == "coco18_canvas":
        data = pose.to_openpose_json()
    elif layout == "body25_normalised":  # BODY_25 order, normalised, with canvas: mid-hip etc. added
        coco = pose.keypoints / [176, 256]
        body25 = np.zeros((25, 3))
        for b25, c18 in {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 9: 8, 10: 9, 11: 10, 12: 11, 13: 12,
                         14: 13, 15: 14, 16: 15, 17: 16, 18: 17}.items():
            body25[b25] = [*coco[c18], 0.9]
        body25[8] = [0.5, 0.53, 0.9]  # mid hip: not a COCO joint
        data = {"canvas_width": 176, "canvas_height": 256, "people": [{"pose_keypoints_2d": body25.ravel().tolist()}]}
    else:
        data = pose.keypoints.tolist()  # 18 [x, y] in the person photo's pixels
    path = tmp_path / "pose.json"
    path.write_text(json.dumps(data))
    text = client.predict(handle_file(str(path)), api_name="/load_pose_json")
    check_outputs(client.predict(handle_file(person_path), text, api_name="/generate"), (176, 256))


def test_generate_with_edited_joints(client, pg2_app, person_path):
    # the joint editor writes {"people": ...} JSON in the photo's frame; the API takes the same
    keypoints = get_preset("standing front").to_array()
    keypoints[[4, 7, 16, 17]] = -1  # cleared joints
    keypoints[3] = [30, 40]  # a moved elbow
    text = pg2_app.app.pose_to_text(Pose.from_array(keypoints, image_size=(256, 176)))
    status = check_outputs(client.predict(handle_file(person_path), text, api_name="/generate"), (176, 256))
    assert "14/18 joints" in status


def test_editor_place_and_clear_joint(pg2_app, person_path):
    app = pg2_app.app

    class Click:  # what gr.SelectData carries for a click on an image: index = [x, y]
        index = [20, 30]

    text, next_joint = app.place_joint(person_path, app.preset_text("standing front"), "4 r_wrist", Click())
    pose = Pose.from_openpose_json(text)
    assert pose.image_size == (256, 176) and tuple(pose.keypoints[4]) == (20, 30)
    assert next_joint == f"5 {JOINT_NAMES[5]}"
    pose = Pose.from_openpose_json(app.clear_joint(person_path, text, "4 r_wrist"))
    assert not pose.visible[4] and pose.num_visible == 17
    assert Pose.from_openpose_json(app.clear_all_joints(None)).num_visible == 0
    assert app.render_editor(person_path, text, "5 l_shoulder").size == (176, 256)


def test_pose_sequence_gif(client, person_path):
    gif, status = client.predict(handle_file(person_path), preset_json("standing front"), preset_json("waving"),
                                 5, 80, api_name="/generate_sequence")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.is_animated and im.n_frames == 8 and im.size == (176, 256)
    assert status.startswith("5 poses")


# ---- bad inputs: readable messages, and the app keeps serving ----


def test_bad_inputs_give_readable_errors(client, person_path, tmp_path):
    text_file = tmp_path / "notes.png"  # not an image, whatever its name says
    text_file.write_text("hello")
    few = get_preset("standing front").to_array()
    few[2:] = -1  # nose and neck only
    cases = [
        ((handle_file(str(text_file)), preset_json("waving")), "not an image"),
        ((handle_file(person_path), json.dumps(Pose.from_array(few, (256, 176)).to_openpose_json())), "joints"),
        ((handle_file(person_path), "{not json"), "not valid JSON"),
        ((handle_file(person_path), ""), "Choose a target pose"),
        ((handle_file(person_path), json.dumps({"people": []})), "no person"),
        ((handle_file(person_path), json.dumps([[1, 2]] * 5)), "18 COCO keypoints"),
    ]
    for args, message in cases:
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name="/generate")
    bad_json = tmp_path / "bad.json"
    bad_json.write_bytes(b"\xff\xfe not json")
    with pytest.raises(AppError, match="not JSON"):
        client.predict(handle_file(str(bad_json)), api_name="/load_pose_json")
    with pytest.raises(AppError, match="greater than maximum"):  # Gradio checks the slider range
        client.predict(handle_file(person_path), preset_json("waving"), preset_json("waving"), 99, 80,
                       api_name="/generate_sequence")
    check_outputs(client.predict(handle_file(person_path), preset_json("waving"), api_name="/generate"), (176, 256))


def test_awkward_photos_are_fixed_with_a_notice(client, person_path, tmp_path):
    person = Image.open(person_path).convert("RGB")  # 176x256
    rgba = person.convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # one transparent pixel
    rgba.save(tmp_path / "rgba.png")
    person.convert("L").save(tmp_path / "grey.png")
    person.resize((1100, 1600)).save(tmp_path / "huge.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    person.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "rotated.jpg", exif=exif.tobytes())

    pose = preset_json("walking (front)")
    status = check_outputs(client.predict(handle_file(str(tmp_path / "rgba.png")), pose, api_name="/generate"), (176, 256))
    assert "transparent" in status
    status = check_outputs(client.predict(handle_file(str(tmp_path / "grey.png")), pose, api_name="/generate"), (176, 256))
    assert "greyscale" in status
    status = check_outputs(client.predict(handle_file(str(tmp_path / "huge.png")), pose, api_name="/generate"), (704, 1024))
    assert "downscaled from 1100x1600 to 704x1024" in status
    status = check_outputs(client.predict(handle_file(str(tmp_path / "rotated.jpg")), pose, api_name="/generate"), (176, 256))
    assert "EXIF" in status


def test_twenty_concurrent_calls_all_succeed(client, person_path):
    names = preset_names()

    def call(i):
        return client.predict(handle_file(person_path), preset_json(names[i % len(names)]), api_name="/generate")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(call, range(20)))
    assert len(results) == 20
    for result in results:
        check_outputs(result, (176, 256))


def test_main_loads_once_and_launches_on_the_given_address(pg2_app, tmp_path, monkeypatch):
    app = pg2_app.app
    launched = {}
    monkeypatch.setattr(app, "DEFAULT_MODEL_DIR", tmp_path / "missing")
    monkeypatch.setattr(app.gr.Blocks, "launch", lambda self, **kw: launched.update(kw, demo=self))
    (tmp_path / "ex").mkdir()
    Image.open(pg2_app.examples[0]).save(tmp_path / "ex" / "me.png")
    app.main(["--host", "127.0.0.1", "--port", "7999", "--device", "cpu", "--examples", str(tmp_path / "ex")])
    assert (launched["server_name"], launched["server_port"]) == ("127.0.0.1", 7999)
    assert "outputs are noise" in str(launched["demo"].config)
    with pytest.raises(SystemExit, match="Cannot load the model"):
        app.main(["--model", str(tmp_path / "nope"), "--device", "cpu"])
