"""`unmask web` in a real headless Chromium: the page loads nothing from outside, a masked photo
is completed, its region edited with the brush and completed again, the downloaded result equals
`unmask.complete` on the same inputs and region; the example is one click away; Cancel stops a
job; each bad upload, and Complete after it, shows one clear line and nothing else; the
region opens fitted; a wrong person is a warning box; the record names the uploaded files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

import unmask
from unmask.errors import UnmaskError
from unmask.images import read_image, write_image

from web_fixtures import (by, chromium_driver, complete_and_wait, download_links, fetch, image_from_bytes,
                          masked_photo, named, open_page, page_status, region_on_editor, running_app, upload, wait)

pytestmark = pytest.mark.slow
SCREENSHOT = os.environ.get("UNMASK_WEB_SCREENSHOT")  # e.g. docs/web.png: where the example's screenshot goes


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("web-app")) as url:
        yield url


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    driver = chromium_driver(downloads)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def inputs(people_dir, tmp_path_factory):
    return masked_photo(people_dir, tmp_path_factory.mktemp("web-inputs"))


def test_page_loads_nothing_from_outside(browser, app):
    open_page(browser, app)
    browser.get_log("performance")  # drop the log so far, then load again with an empty cache
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    open_page(browser, app)
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = urlparse(message["params"]["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss"):
                hosts.add(url.hostname)
    assert hosts == {"127.0.0.1"}, hosts
    assert browser.title == "unmask"


def test_complete_edit_region_and_download(browser, app, inputs, downloads):
    open_page(browser, app)
    upload(browser, "unmask-masked", inputs["masked"])
    upload(browser, "unmask-references", inputs["reference"])
    wait(browser, lambda: page_status(browser))
    assert page_status(browser).startswith("region found"), page_status(browser)
    region_on_editor(browser)
    first = complete_and_wait(browser, [])
    found = image_from_bytes(fetch(named(first, "-region.png")))[:, :, 0] > 127
    assert (found & inputs["region"]).sum() > 0.8 * inputs["region"].sum()

    # paint a stroke with the brush across the neck, below the mask, and complete again
    from selenium.webdriver.common.action_chains import ActionChains

    editor = browser.find_element(by().ID, "unmask-editor")
    editor.find_element(by().CSS_SELECTOR, "button[aria-label=Brush]").click()
    canvas = editor.find_element(by().CSS_SELECTOR, "canvas")
    photo_h, photo_w = inputs["region"].shape
    ys, xs = np.nonzero(inputs["region"])
    neck = (float(xs.mean()), float(ys.max()) + 0.12 * photo_h)  # photo pixels under the chin
    start = _to_screen(browser, canvas, (neck[0] - 0.06 * photo_w, neck[1]))
    end = _to_screen(browser, canvas, (neck[0] + 0.06 * photo_w, neck[1]))
    (ActionChains(browser).move_to_element_with_offset(canvas, *start).click_and_hold()
     .move_to_element_with_offset(canvas, (start[0] + end[0]) // 2, start[1])
     .move_to_element_with_offset(canvas, *end).release().perform())
    second = complete_and_wait(browser, first)
    region = image_from_bytes(fetch(named(second, "-region.png")))[:, :, 0] > 127
    painted = region & ~found
    assert painted.sum() > 50, "the brush stroke did not reach the region"
    rows, cols = np.nonzero(painted)
    assert abs(rows.mean() - neck[1]) < 0.05 * photo_h and abs(cols.mean() - neck[0]) < 0.05 * photo_w
    assert (region & found).sum() == found.sum()  # the stroke added, it removed nothing

    # download the result by its link in the page, and compare with the library on the same region
    browser.find_element(by().CSS_SELECTOR, f"#unmask-downloads a[href='{named(second, '-unmasked.png')}']").click()
    saved = downloads / "masked-unmasked.png"
    wait(browser, saved.is_file, 60)
    expected = unmask.complete(inputs["masked"], inputs["reference"], mask=region, method="warp").image
    np.testing.assert_array_equal(read_image(saved), expected)
    record = json.loads(fetch(named(second, "-record.json")))
    assert record["region"]["source"] == "user mask" and record["inputs"]["target"] == "masked.png"
    assert not any(e.is_displayed() for e in browser.find_elements(by().ID, "unmask-warning"))  # same person


def test_example_is_one_click_away(browser, app, tmp_path):
    open_page(browser, app)
    browser.find_element(by().ID, "unmask-example").click()
    wait(browser, lambda: page_status(browser))
    assert page_status(browser).startswith("region found"), page_status(browser)
    region_on_editor(browser)
    links = complete_and_wait(browser, [])
    assert {Path(urlparse(link).path).name for link in links} == {
        "example-masked-unmasked.png", "example-masked-panel.png", "example-masked-record.json",
        "example-masked-region.png"}
    summary = browser.find_element(by().ID, "unmask-summary").text
    assert "Identity distance" in summary
    wait(browser, lambda: browser.find_elements(by().CSS_SELECTOR, "#unmask-slider img"))
    time.sleep(1.0)  # let the images finish drawing before the screenshot
    shot = tmp_path / "web.png"
    browser.save_screenshot(str(shot))
    assert read_image(shot).shape[1] >= 1000
    if SCREENSHOT:  # kept small for the repository: 256 colours
        from PIL import Image

        write_image(SCREENSHOT, Image.open(shot).convert("RGB").quantize(256))


def test_cancel_stops_the_job(browser, app, inputs):
    open_page(browser, app)
    upload(browser, "unmask-masked", inputs["masked"])
    upload(browser, "unmask-references", inputs["reference"])
    wait(browser, lambda: page_status(browser))
    region_on_editor(browser)
    browser.find_element(by().ID, "unmask-run").click()
    browser.find_element(by().ID, "unmask-cancel").click()
    wait(browser, lambda: page_status(browser) == "cancelled")
    time.sleep(6)  # longer than the job takes: it must not deliver a result after all
    assert download_links(browser) == [] and page_status(browser) == "cancelled"


def _bad_photo(kind: str, folder: Path, people_dir: Path) -> Path:
    if kind == "text file":
        path = folder / "notes.txt"
        path.write_text("not a photo\n")
    elif kind == "truncated JPEG":
        whole = (people_dir / "p01" / "1.jpg").read_bytes()
        path = folder / "cut.jpg"
        path.write_bytes(whole[: len(whole) // 3])
    elif kind == "photo without a face":
        from skimage import data

        path = write_image(folder / "coffee.png", data.coffee())
    else:  # a photo without a mask
        path = folder / "bare.jpg"
        path.write_bytes((people_dir / "p02" / "2.jpg").read_bytes())
    return path


EXPECTED = {  # what Complete says after each bad upload (the unreadable ones: as `unmask run` says it)
    "text file": None, "truncated JPEG": None,
    "photo without a face": ("no face found", "mark the face"),
    "photo without a mask": ("no face mask found", "paint the region"),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_bad_upload_then_complete_shows_one_clear_line(browser, app, inputs, people_dir, tmp_path, kind):
    photo = _bad_photo(kind, tmp_path, people_dir)
    open_page(browser, app)
    upload(browser, "unmask-masked", photo)
    upload(browser, "unmask-references", inputs["reference"])
    wait(browser, lambda: page_status(browser))
    if EXPECTED[kind] is None:
        with pytest.raises(UnmaskError) as raised:  # what `unmask run` prints after "error: "
            unmask.complete(photo, inputs["reference"])
        expected = "error: " + str(raised.value).replace(str(photo), photo.name)
        assert page_status(browser) == expected
    else:
        problem, advice = EXPECTED[kind]
        expected = page_status(browser)
        assert expected.startswith(f"error: {photo.name}: {problem}") and advice in expected, expected
    seen = _press_complete(browser)
    assert seen[-1] == expected and "\n" not in expected, seen
    time.sleep(1.0)  # an error badge would show now
    badges = browser.execute_script("return Array.from(document.querySelectorAll('.error'), e => e.textContent)")
    assert badges == [] and download_links(browser) == []
    assert "Traceback" not in browser.page_source


def _press_complete(browser) -> list[str]:
    """Press Complete and return the messages shown until the job ended (each change seen, read
    every 10 ms in the page: an error comes back within a poll of selenium's)."""
    browser.execute_script(
        "window.seen = []; const t = document.querySelector('#unmask-status textarea');"
        "window.seen_timer = setInterval(() => { if (window.seen[window.seen.length - 1] !== t.value)"
        " window.seen.push(t.value); }, 10);")
    browser.find_element(by().ID, "unmask-run").click()
    wait(browser, lambda: browser.execute_script(
        "const s = window.seen; const i = s.indexOf('working...'); return i >= 0 && s.length > i + 1"))
    return browser.execute_script("clearInterval(window.seen_timer); return window.seen")


def test_region_opens_fitted_to_the_editor(browser, app, people_dir, tmp_path):
    """A portrait photo opens whole and large: fitted to the editor, not a thumbnail in it."""
    from unmask.face import find_face
    from unmask.region.synthetic import render_mask

    photo = read_image(people_dir / "p05" / "3.jpg")  # 681 x 1024, portrait
    masked = write_image(tmp_path / "portrait.png", render_mask(photo, find_face(photo).landmarks, "surgical", 0)[0])
    open_page(browser, app)
    upload(browser, "unmask-masked", masked)
    wait(browser, lambda: page_status(browser))
    region_on_editor(browser)
    scale, x0, y0 = browser.execute_script(
        "const c = window.editor.image_container; return [c.scale.x, c.position.x, c.position.y]")
    ratio = browser.execute_script("return window.devicePixelRatio || 1")
    canvas = browser.find_element(by().CSS_SELECTOR, "#unmask-editor canvas").size
    left, top = x0 / ratio, y0 / ratio
    width, height = photo.shape[1] * scale / ratio, photo.shape[0] * scale / ratio
    assert left >= -1 and top >= -1 and left + width <= canvas["width"] + 1 and top + height <= canvas["height"] + 1
    assert height >= 500, f"the photo opens {width:.0f} x {height:.0f} px ({scale:.0%}) in a {canvas} canvas"


def test_wrong_person_is_a_warning_above_the_result_and_uploads_are_named(browser, app, inputs, people_dir):
    """Two references of other people: the page shows a warning box above the result, and the
    downloaded record names the uploaded files, never the server's temporary ones."""
    strangers = [people_dir / "p04" / "2.jpg", people_dir / "p01" / "2.jpg"]
    open_page(browser, app)
    upload(browser, "unmask-masked", inputs["masked"])
    upload(browser, "unmask-references", *strangers)
    wait(browser, lambda: page_status(browser))
    region_on_editor(browser)
    links = complete_and_wait(browser, [])
    warning = browser.find_element(by().ID, "unmask-warning")
    assert warning.is_displayed() and "another person" in warning.text
    result = browser.find_element(by().ID, "unmask-slider")
    assert warning.location["y"] + warning.size["height"] <= result.location["y"]
    colour = browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", warning)
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)"), colour
    text = fetch(named(links, "-record.json")).decode()
    record = json.loads(text)
    assert "unmask-web" not in text and "/tmp" not in text, text
    assert record["inputs"]["target"] == "masked.png" and record["inputs"]["reference"] == "2.jpg"
    assert [entry["label"] for entry in record["references"]] == ["2.jpg", "2.jpg"]
    assert any("another person" in w for w in record["warnings"])


def _to_screen(browser, canvas, point: tuple[float, float]) -> tuple[int, int]:
    """Photo pixel (x, y) -> offset from the canvas element's centre (selenium's origin), through
    the editor's own zoom and position."""
    scale, x0, y0 = browser.execute_script(
        "const e = window.editor; const c = e.image_container; return [c.scale.x, c.position.x, c.position.y]")
    ratio = browser.execute_script("return window.devicePixelRatio || 1")
    px = (x0 + point[0] * scale) / ratio - canvas.size["width"] / 2
    py = (y0 + point[1] * scale) / ratio - canvas.size["height"] / 2
    return int(round(px)), int(round(py))
