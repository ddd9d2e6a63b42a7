"""`unmask web` with a group photo in a real headless Chromium: two masked people side by side are
numbered on the page, each person's photos are given, and Complete completes each face from its
own person (the library's pixels, inside the masks only); the user's choice of person per face
overrides the matching, and a face given to nobody is left as it was and reported. Without the
browser: the preview's numbered faces, and a region edited on a group photo shared among its faces."""

from __future__ import annotations

import json

import numpy as np
import pytest

import unmask
from unmask.images import read_image, write_image
from unmask.pipeline import locate

from face_fixtures import group_photo
from web_fixtures import (by, chromium_driver, complete_and_wait, fetch, image_from_bytes, named, open_page,
                          page_status, region_on_editor, running_app, upload, wait)

TILE = 320
FACES = [("p01", "1.jpg", True), ("p04", "2.jpg", True)]
"""The group, left to right: (person, photo, masked)."""
PEOPLE = {"Ann": ("p01", ["2.jpg", "5.jpg"]), "Bob": ("p04", ["3.jpg"])}
"""The people given on the page: name -> (person of the data, their photos)."""
OWN = ["Ann", "Bob"]
"""Who is in each tile."""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("web-group-app")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium_driver(tmp_path_factory.mktemp("downloads"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def group(people_dir, tmp_path_factory):
    """The group photo (PNG) and each person's photos."""
    folder = tmp_path_factory.mktemp("web-group")
    photo = write_image(folder / "group.png", group_photo(people_dir, FACES, TILE))
    return {"photo": photo, "people": {name: [people_dir / person / n for n in names]
                                       for name, (person, names) in PEOPLE.items()}}


def _tile(entry: dict) -> int:
    x0, _, x1, _ = entry["box"]
    return int((x0 + x1) / 2 // TILE)


def _choose(browser, face: int, label: str) -> None:
    """Pick `label` in the chooser of face `face` (again while the page redraws the choosers after
    the names were typed)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def picked() -> bool:
        browser.find_element(by().CSS_SELECTOR, f"#unmask-face-{face} input").click()
        for option in browser.find_elements(by().CSS_SELECTOR, f"li[role=option][aria-label='{label}']"):
            option.click()
        return browser.execute_script(f"return document.querySelector('#unmask-face-{face} input').value") == label

    WebDriverWait(browser, 30, poll_frequency=0.5, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda _: picked())


def _run(browser, app, group, choices: dict[int, str] | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
    """Upload the group photo, name the two people and give their photos, pick `choices` {tile:
    label} for the faces, press Complete: the record, the result and the region filled."""
    open_page(browser, app)
    upload(browser, "unmask-masked", group["photo"])
    wait(browser, lambda: page_status(browser))
    assert page_status(browser).startswith("2 faces found, 2 with a face mask"), page_status(browser)
    region_on_editor(browser)
    for slot, name in enumerate(PEOPLE):
        field = browser.find_element(by().CSS_SELECTOR, f"#unmask-name-{slot} input")
        field.clear()
        field.send_keys(name)
        upload(browser, "unmask-references" if slot == 0 else f"unmask-references-{slot}", *group["people"][name])
    labels = [browser.find_element(by().CSS_SELECTOR, f"#unmask-face-{i} [data-testid=block-info]").text
              for i in range(2)]
    assert labels == ["Face 0", "Face 1"]
    boxes = [e.face.box for e in locate(group["photo"], every=True).faces]
    face_of_tile = {int((b[0] + b[2]) / 2 // TILE): i for i, b in enumerate(boxes)}
    for tile, label in (choices or {}).items():
        _choose(browser, face_of_tile[tile], label)
    wait(browser, lambda: all(browser.execute_script(
        f"return document.querySelectorAll('#unmask-references{'' if s == 0 else f'-{s}'} a').length") == len(photos)
        for s, photos in enumerate(group["people"].values())))
    links = complete_and_wait(browser, [])
    text = fetch(named(links, "-record.json")).decode()
    assert "unmask-web" not in text and "/tmp" not in text, text
    return (json.loads(text), image_from_bytes(fetch(named(links, "-unmasked.png"))),
            image_from_bytes(fetch(named(links, "-region.png")))[:, :, 0] > 127)


@pytest.mark.slow
def test_each_face_is_completed_from_its_own_person(browser, app, group):
    record, result, region = _run(browser, app, group)
    assert record["inputs"]["target"] == "group.png" and record["inputs"]["people"] == list(PEOPLE)
    faces = sorted(record["faces"], key=_tile)
    assert [(_tile(e), e["status"], e["person"]) for e in faces] == [(0, "completed", "Ann"), (1, "completed", "Bob")]
    for entry, name in zip(faces, OWN):
        assert entry["identity_distance"] <= entry["identity_limit"]
        assert entry["reference"] in {p.name for p in group["people"][name]}
    expected = unmask.complete(group["photo"], people=group["people"])
    np.testing.assert_array_equal(result, expected.image)
    before = read_image(group["photo"])
    changed = np.any(result != before, axis=2)
    for tile in range(2):
        columns = slice(tile * TILE, (tile + 1) * TILE)
        inside = region[:, columns]
        assert changed[:, columns][inside].mean() > 0.5, "the face was not completed inside its mask"
    assert not (changed & ~_grown(region, 4)).any(), "pixels changed away from the masks"
    summary = browser.find_element(by().ID, "unmask-summary").text
    assert "Ann" in summary and "Bob" in summary and summary.count("completed") == 2, summary


@pytest.mark.slow
def test_the_users_choice_of_person_overrides_the_matching(browser, app, group):
    record, result, _ = _run(browser, app, group, {0: "Bob", 1: "Ann"})
    assert sorted((_tile(e), e["status"], e["person"]) for e in record["faces"]) == [
        (0, "completed", "Bob"), (1, "completed", "Ann")]
    assert all(e["identity_distance"] > e["identity_limit"] for e in record["faces"])  # each is not the other
    assert any("another person" in w for w in record["warnings"])
    warning = browser.find_element(by().ID, "unmask-warning")
    assert warning.is_displayed() and "another person" in warning.text


@pytest.mark.slow
def test_a_face_given_to_nobody_is_left_as_it_was_and_reported(browser, app, group):
    record, result, _ = _run(browser, app, group, {1: "nobody: leave this face as it is"})
    faces = sorted(record["faces"], key=_tile)
    assert [(e["status"], e["person"]) for e in faces] == [("completed", "Ann"), ("unknown person", None)]
    assert faces[1]["message"] == "given to nobody"
    before = read_image(group["photo"])
    np.testing.assert_array_equal(result[:, TILE:], before[:, TILE:])
    assert not np.array_equal(result[:, :TILE], before[:, :TILE])
    summary = browser.find_element(by().ID, "unmask-summary").text
    assert summary.count("left as it is: given to nobody") == 1 and summary.count("completed") == 1, summary


@pytest.mark.slow
def test_group_controls_appear_for_several_faces_or_an_added_person(browser, app, group, people_dir, tmp_path):
    """One face: the one-person page (no names, no face choosers); Add a person shows the second
    person and who is who; a photo of two faces shows them without asking."""
    from web_fixtures import masked_photo

    def shown() -> list[str]:
        ids = ["unmask-name-0", "unmask-references-1", "unmask-who", "unmask-face-0", "unmask-face-1"]
        return [i for i in ids if any(e.is_displayed() for e in browser.find_elements(by().ID, i))]

    open_page(browser, app)
    upload(browser, "unmask-masked", masked_photo(people_dir, tmp_path)["masked"])
    wait(browser, lambda: page_status(browser))
    assert page_status(browser).startswith("region found") and shown() == []
    browser.find_element(by().ID, "unmask-add-person").click()
    wait(browser, lambda: shown() == ["unmask-name-0", "unmask-references-1", "unmask-who", "unmask-face-0"])
    open_page(browser, app)
    upload(browser, "unmask-masked", group["photo"])
    wait(browser, lambda: page_status(browser))
    assert shown() == ["unmask-name-0", "unmask-references-1", "unmask-who", "unmask-face-0", "unmask-face-1"]


def test_preview_numbers_every_face_and_keeps_the_photo_elsewhere(group):
    from unmask.web.jobs import FACE_COLOURS, numbered_faces, preview_region

    preview = preview_region(group["photo"])
    assert preview.faces == 2 and preview.masked() == [0, 1] and preview.message == ""
    assert preview.region.sum() == sum(f.region.sum() for f in preview.scene.faces)  # both regions, apart
    shown = numbered_faces(preview.photo, preview.scene)
    drawn = np.any(shown != preview.photo, axis=2)
    near = np.zeros_like(drawn)
    for spot in preview.scene.faces:
        x0, y0, x1, y1 = (int(v) for v in spot.face.box)
        near[max(0, y0 - 4):y1 + 5, max(0, x0 - 60):x1 + 5] = True  # the box, and the tag left of it
        tag = shown[y0 + 4, max(0, x0 - 8)]  # inside the tag beside the top left corner, away from the digit
        assert tuple(tag) == FACE_COLOURS[True], tag
    assert drawn.any() and not (drawn & ~near).any()


def test_an_edited_region_is_shared_among_the_faces(group):
    """Each painted pixel goes to the nearest face; an untouched face keeps its region found, an
    erased one has nothing left to fill; the preview's scene is not changed."""
    from unmask.web.jobs import preview_region, with_region

    preview = preview_region(group["photo"])
    scene = preview.scene
    assert with_region(scene, preview.region).faces == scene.faces
    first, second = sorted(range(2), key=lambda i: scene.faces[i].face.box[0])  # left, right
    middle = int(np.mean(scene.faces[second].face.box[0::2]))
    edited = preview.region.copy()
    edited[:, :TILE] = False  # the left face erased
    edited[280:300, middle - 20:middle + 20] = True  # a patch under the right face
    shared = with_region(scene, edited)
    assert shared.faces[first].status == "no mask" and shared.faces[first].region is None
    assert shared.faces[second].status == "to fill" and shared.faces[second].region_info == {"source": "user mask"}
    np.testing.assert_array_equal(shared.faces[second].region, edited)
    assert scene.faces[first].region is not None and scene.faces[second].region_info["source"] == "detected"


def _grown(region: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    return cv2.dilate(region.astype(np.uint8), np.ones((2 * pixels + 1,) * 2, np.uint8)) > 0
