"""The app in a real browser: headless Debian Chromium driven by Playwright.

Loads the page, uploads a person photo, clicks Generate and waits for the refined image (screenshot:
tests/artifacts/browser_generate.png); then picks a preset in the gallery and places a joint with the
editor (tests/artifacts/browser_editor.png): the page-only events the API tests cannot reach. Needs /usr/bin/chromium
(`apt-get install chromium`); Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("PG2_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.mark.slow
def test_upload_generate_shows_output_in_browser(pg2_app):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (or set PG2_CHROMIUM)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(pg2_app.url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_text("Untrained, random weights").wait_for(timeout=60_000)
            assert page.get_by_text("pg2-tiny-test").count() >= 1

            page.locator("#person-image input[type=file]").set_input_files(pg2_app.examples[0])
            page.locator("#person-image img").first.wait_for(timeout=30_000)  # the upload's preview
            page.locator("#generate").click()

            refined = page.locator("#out-refined img").first
            refined.wait_for(timeout=60_000)
            page.wait_for_function(
                "() => { const i = document.querySelector('#out-refined img');"
                " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
            size = refined.evaluate("i => [i.naturalWidth, i.naturalHeight]")
            assert size == [176, 256]
            for elem in ("#out-pose img", "#out-coarse img"):
                assert page.locator(elem).count() >= 1
            page.get_by_text("Done in").first.wait_for(timeout=10_000)
            page.screenshot(path=str(ARTIFACTS / "browser_generate.png"), full_page=True)

            # a preset picked in the gallery becomes the target pose
            page.get_by_text("Target pose (OpenPose JSON, editable)").click()  # open the accordion
            pose_box = page.locator("#pose-json textarea")
            pose_box.wait_for(timeout=10_000)
            page.locator("#preset-gallery").get_by_text("arms raised").click()
            page.wait_for_function(
                "() => document.querySelector('#pose-json textarea').value.includes('44.0, 10.0')", timeout=30_000)

            # the joint editor: a click on the canvas places the selected joint (nose) there
            page.get_by_role("tab", name="Edit joints").click()
            canvas = page.locator("#pose-editor img").first
            canvas.wait_for(timeout=30_000)
            box = canvas.bounding_box()
            natural = canvas.evaluate("i => [i.naturalWidth, i.naturalHeight]")
            assert natural == [176, 256]
            before = pose_box.input_value()
            canvas.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
            page.wait_for_function(f"() => document.querySelector('#pose-json textarea').value !== {before!r}",
                                   timeout=30_000)
            nose = json.loads(pose_box.input_value())["people"][0]["pose_keypoints_2d"][:2]
            assert abs(nose[0] - 176 * 0.25) <= 3 and abs(nose[1] - 256 * 0.5) <= 3, nose
            page.screenshot(path=str(ARTIFACTS / "browser_editor.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
