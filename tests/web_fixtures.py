"""Helpers shared by the web page's tests: the real `unmask web` command on a free port of
127.0.0.1, a headless Debian Chromium driven by selenium and what the tests do on the page, and
the test's masked photo."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

CHROMIUM = ("chromium", "chromium-browser")
READY_SECONDS = 120  # generous: the machine is shared; benchmarks/bench_web.py measures it
WAIT = 120  # seconds a page waits for a job; generous for a shared machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(tmp: Path, *args: str) -> Iterator[str]:
    """Start `unmask web` (this checkout's code) with its temporary folder under `tmp`; yield
    its address; stop it with SIGTERM and check that it removed its temporary folder and logged
    no error of its own."""
    pytest.importorskip("gradio", reason="the web page needs the [web] extra: pip install -e '.[web]'")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp)}
    process = subprocess.Popen([sys.executable, "-m", "unmask", "web", "--port", str(port), *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    # the only tracebacks the server may log are Gradio's own: its refusal of a path that was not
    # uploaded, and an upload cut short because the browser left the page (the next test opens it)
    allowed = output.count("InvalidPathError: Cannot move") + output.count("starlette.requests.ClientDisconnect")
    assert output.count("Traceback") == allowed, output
    assert not list(tmp.glob("unmask-web-*")), "the app left its temporary folder behind"


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"unmask web exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"unmask web did not answer at {url} within {READY_SECONDS} s")


def chromium_driver(downloads: Path):
    """A headless Chromium (Debian's `chromium` + `chromium-driver`; never downloaded) that saves
    downloads into `downloads` and logs every network request; skips when there is none."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the [dev] extra)")
    from selenium.webdriver.chrome.service import Service

    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("no Chromium here: apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1900",
                "--disable-gpu"):
        options.add_argument(arg)
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(driver_path), options=options)


def masked_photo(people_dir: Path, folder: Path) -> dict[str, Path | np.ndarray]:
    """A people/ photo with a synthetic surgical mask (written as PNG into `folder`), the painted
    region, and another photo of the same person as the reference."""
    from unmask.face import find_face
    from unmask.region.synthetic import render_mask
    from unmask.images import read_image, write_image

    photo = read_image(people_dir / "p05" / "1.jpg")
    masked, region = render_mask(photo, find_face(photo).landmarks, "surgical", 0)
    return {"masked": write_image(folder / "masked.png", masked), "region": region,
            "reference": people_dir / "p05" / "3.jpg"}


def by():
    from selenium.webdriver.common.by import By

    return By


def wait(browser, condition, seconds: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, poll_frequency=0.2).until(lambda _: condition())


def open_page(browser, url: str) -> None:
    browser.get(url)
    wait(browser, lambda: browser.find_elements(by().CSS_SELECTOR, "#unmask-masked input[type=file]"))


def upload(browser, element_id: str, *paths: Path) -> None:
    field = browser.find_element(by().CSS_SELECTOR, f"#{element_id} input[type=file]")
    field.send_keys("\n".join(str(p) for p in paths))


def page_status(browser) -> str:
    """The text of the page's Messages box."""
    return browser.execute_script("const t = document.querySelector('#unmask-status textarea');"
                                  "return t ? t.value : '';")


def download_links(browser) -> list[str]:
    """The download links (read in one script: the list is redrawn while a job ends)."""
    return browser.execute_script("return Array.from(document.querySelectorAll('#unmask-downloads a'),"
                                  " a => a.href);")


def region_on_editor(browser) -> None:
    """Wait until the editor shows the photo with its region layer, on a canvas of the photo's size."""
    wait(browser, lambda: browser.execute_script(
        "const e = window.editor; if (!e) return false; const b = e.layer_manager.image_container.getLocalBounds();"
        "return e.layer_manager.layers.length == 1 && b.width == e.width && b.height == e.height && e.width > 16"))


def complete_and_wait(browser, before: list[str]) -> list[str]:
    """Press Complete and wait for the new downloads (an error in the page fails the test)."""
    browser.find_element(by().ID, "unmask-run").click()
    wait(browser, lambda: download_links(browser) not in ([], before) or page_status(browser).startswith("error"))
    assert not page_status(browser).startswith("error"), page_status(browser)
    return download_links(browser)


def fetch(link: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(link, timeout=30) as response:
        return response.read()


def image_from_bytes(data: bytes) -> np.ndarray:
    """A downloaded image as uint8 RGB (H, W, 3)."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def named(links: list[str], suffix: str) -> str:
    """The link of `links` whose name ends with `suffix`."""
    return next(link for link in links if link.endswith(suffix))
