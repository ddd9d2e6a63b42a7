"""The `complete` endpoint of `unmask web`, called as another program would (gradio_client and
plain HTTP), and the page's helpers that turn the editor's layers into a region."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pytest

import unmask
from unmask.errors import UnmaskError
from unmask.images import read_image
from unmask.web.jobs import by_name, face_marks, region_from_layers, region_layer, user_message

from web_fixtures import READY_SECONDS, free_port, masked_photo, running_app, wait_until_up


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("web-api"), "--max-upload-mb", "1") as url:
        yield url


@pytest.fixture(scope="module")
def client(app):
    gradio_client = pytest.importorskip("gradio_client")
    return gradio_client.Client(app, verbose=False)


@pytest.mark.slow
def test_endpoint_returns_the_library_result_and_record(client, people_dir, tmp_path):
    from gradio_client import handle_file

    inputs = masked_photo(people_dir, tmp_path)
    image, record = client.predict(handle_file(str(inputs["masked"])), [handle_file(str(inputs["reference"]))],
                                   "opencv-telea", api_name="/complete")
    expected = unmask.complete(inputs["masked"], inputs["reference"], method="opencv-telea").image
    np.testing.assert_array_equal(read_image(image), expected)
    assert record["method"] == "opencv-telea" and record["inputs"]["target"] == "masked.png"
    assert record["region"]["source"] == "detected"
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/complete"]  # the page's own events are not offered to programs
    assert [p["label"] for p in endpoints["/complete"]["parameters"]] == ["masked photo", "reference photos", "method"]


@pytest.mark.slow
def test_two_callers_at_once_get_their_own_results(app, people_dir, tmp_path):
    """Two jobs queued together (two clients, two methods): each gets its own result."""
    from gradio_client import Client, handle_file

    inputs = masked_photo(people_dir, tmp_path)
    jobs = {method: Client(app, verbose=False).submit(handle_file(str(inputs["masked"])),
                                                      [handle_file(str(inputs["reference"]))], method,
                                                      api_name="/complete")
            for method in ("opencv-ns", "opencv-telea")}
    results = {method: job.result(timeout=300) for method, job in jobs.items()}
    for method, (image, record) in results.items():
        assert record["method"] == method
        expected = unmask.complete(inputs["masked"], inputs["reference"], method=method).image
        np.testing.assert_array_equal(read_image(image), expected)


@pytest.mark.slow
def test_endpoint_error_is_the_command_line_message(client, tmp_path, people_dir):
    from gradio_client import handle_file

    text = tmp_path / "notes.txt"
    text.write_text("not a photo\n")
    with pytest.raises(Exception) as raised:
        client.predict(handle_file(str(text)), [handle_file(str(people_dir / "p02" / "3.jpg"))], "warp",
                       api_name="/complete")
    assert "notes.txt: not an image file" in str(raised.value)
    assert "Traceback" not in str(raised.value)


@pytest.mark.slow
def test_endpoint_never_opens_a_path_the_client_names(app):
    """A file entry naming a server path that was not uploaded is refused before any work."""
    body = json.dumps({"data": [{"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}},
                                [{"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}], "warp"]})
    request = urllib.request.Request(app + "gradio_api/call/complete", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{app}gradio_api/call/complete/{event}", timeout=60) as response:
        stream = response.read().decode()
    assert "event: error" in stream and "event: complete" not in stream
    assert open("/etc/hostname").read().strip() not in stream.replace("/etc/hostname", "")


@pytest.mark.slow
def test_uploads_over_the_limit_are_refused(app):
    body = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.jpg\"\r\n\r\n"
    body += b"\xff" * (1 << 20) + b"x" * 4096 + b"\r\n--b--\r\n"  # the app was started with --max-upload-mb 1
    request = urllib.request.Request(app + "gradio_api/upload", data=body,
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413


def test_region_round_trips_through_the_editor_layer():
    region = np.zeros((40, 60), bool)
    region[10:30, 20:50] = True
    painted = region_layer(region, region.shape)
    stroke = np.zeros_like(painted)
    stroke[35:38, 5:15] = (50, 50, 200, 255)
    assert np.array_equal(region_from_layers([painted], region.shape), region)
    both = region_from_layers([painted, stroke], region.shape)
    assert both.sum() == region.sum() + 30 and both[36, 10]
    assert not region_from_layers([region_layer(None, region.shape)], region.shape).any()
    with pytest.raises(UnmaskError, match="upload the photo again"):
        region_from_layers([painted], (41, 60))


def test_marks_parse_like_the_command_line_options():
    assert face_marks(" 10, 20.5,30,40 ", eyes=True) == {"eyes": (10.0, 20.5, 30.0, 40.0)}
    assert face_marks("30,40,10,20", eyes=False) == {"face_box": (10.0, 20.0, 30.0, 40.0)}  # corners in any order
    assert face_marks(" ", eyes=True) == {}
    with pytest.raises(UnmaskError, match="the eye marks expects 4 numbers"):
        face_marks("1,2,3", eyes=True)
    with pytest.raises(UnmaskError, match="face box marks"):
        face_marks("1,2,3,nan", eyes=False)


def test_messages_name_the_upload_by_its_own_name(tmp_path):
    error = UnmaskError("not an image file", tmp_path / "abc123" / "notes.txt")
    assert user_message(error) == "notes.txt: not an image file"
    assert user_message(UnmaskError("no path")) == "no path"


def test_records_name_the_uploads_by_their_own_names(tmp_path):
    uploads = [tmp_path / "unmask-web-x" / "a1" / "masked.png", tmp_path / "unmask-web-x" / "b2" / "1.jpg"]
    record = {"inputs": {"target": str(uploads[0]), "reference": str(uploads[1]), "mask": None},
              "references": [{"label": str(uploads[1]), "rank": 1}], "warnings": [f"skipping reference {uploads[1]}: x"]}
    named = by_name(record, uploads)
    assert named == {"inputs": {"target": "masked.png", "reference": "1.jpg", "mask": None},
                     "references": [{"label": "1.jpg", "rank": 1}], "warnings": ["skipping reference 1.jpg: x"]}
    assert "unmask-web" not in json.dumps(named)


def test_job_folders_are_new_and_old_ones_removed(tmp_path):
    import os
    import time

    from unmask.web.jobs import KEEP_SECONDS, new_folder

    old = new_folder(tmp_path)
    (old / "result.png").write_bytes(b"x")
    stale = time.time() - KEEP_SECONDS - 60
    os.utime(old, (stale, stale))
    recent = new_folder(tmp_path)
    newest = new_folder(tmp_path)
    assert not old.exists() and recent.is_dir() and newest.is_dir() and recent != newest


def test_stylegan_is_offered_only_with_weights_at_hand(tmp_path, monkeypatch):
    from unmask.web import usable_weights

    monkeypatch.setenv("UNMASK_HOME", str(tmp_path / "home"))  # an empty cache
    assert usable_weights(None) == []
    weights = tmp_path / "g.safetensors"
    weights.write_bytes(b"checked when the method loads it")
    assert usable_weights(str(weights)) == [str(weights)]
    with pytest.raises(UnmaskError, match="unmask weights download"):
        usable_weights("ffhq-256")  # a zoo name that is not cached is never downloaded by the page


def test_help_does_not_load_the_web_library():
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from unmask.cli import cli; "
            "result = CliRunner().invoke(cli, ['web', '--help']); "
            "print(result.exit_code, '--max-upload-mb' in result.output, 'gradio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "True", "False"]


def test_the_region_preview_looks_for_faces_once(people_dir, tmp_path, monkeypatch):
    """The preview counts the faces it shows from its one detection, also when no face can be used
    (none found, a marked face that is not one, a face without a mask)."""
    import unmask.face
    from unmask.images import write_image
    from unmask.web.jobs import preview_region

    detect, calls = unmask.face.detect_faces, []
    monkeypatch.setattr(unmask.face, "detect_faces", lambda *a, **k: calls.append(1) or detect(*a, **k))
    grey = tmp_path / "grey.png"
    write_image(grey, np.full((240, 320, 3), 128, np.uint8))
    photo = people_dir / "p10" / "1.jpg"
    for path, marks, faces, message in ((grey, {}, 0, "no face"), (photo, {"face_box": (0, 0, 20, 20)}, 1, "face"),
                                        (photo, {}, 1, "no face mask")):
        calls.clear()
        preview = preview_region(path, **marks)
        assert (len(calls), preview.faces, preview.region) == (1, faces, None), (path, marks)
        assert message in preview.message.lower() and (preview.scene is None) == (bool(marks) or faces == 0)


@pytest.mark.slow
def test_a_marked_face_is_completed_as_the_command_line_does(people_dir, tmp_path):
    """The eyes the user clicks (here: the centres of dlib's eye landmarks on the unmasked photo)
    give the region shown and the result that `unmask.complete(..., eyes=)` gives."""
    from unmask.face import find_face
    from unmask.web.jobs import preview_region, run_job

    inputs = masked_photo(people_dir, tmp_path)
    landmarks = find_face(read_image(people_dir / "p05" / "1.jpg")).landmarks
    clicks = np.concatenate([landmarks[36:42].mean(0), landmarks[42:48].mean(0)]).round()
    marked = face_marks(",".join(f"{v:.0f}" for v in clicks), eyes=True)
    preview = preview_region(inputs["masked"], **marked)
    assert preview.message == "", preview.message
    truth = inputs["region"]
    assert (preview.region & truth).sum() / (preview.region | truth).sum() > 0.8
    job = run_job(tmp_path, inputs["masked"], [inputs["reference"]], "warp", region=preview.region,
                  found=preview.scene, **marked)
    expected = unmask.complete(inputs["masked"], inputs["reference"], method="warp", **marked)
    np.testing.assert_array_equal(read_image(job.result), expected.image)
    np.testing.assert_array_equal(read_image(job.region)[:, :, 0] > 0, preview.region)
    assert expected.record["region"]["source"] == "detected"


@pytest.mark.slow
def test_console_names_the_command_line_option_for_a_public_link(tmp_path):
    """What `unmask web` prints when it starts: the page's address, and `--share` (this command's
    option) where Gradio would print its own `share=True`."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    pytest.importorskip("gradio", reason="the web page needs the [web] extra: pip install -e '.[web]'")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "unmask", "web", "--port", str(port)],
                               env={**os.environ, "TMPDIR": str(tmp_path)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not any("--share" in line for line in lines) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        wait_until_up(f"http://127.0.0.1:{port}/", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=10)
    output = "".join(lines)
    assert f"http://127.0.0.1:{port}/" in output and "unmask web --share" in output, output
    assert "share=True" not in output and "launch()" not in output, output
