"""Model zoo and downloads, against a local HTTP server on 127.0.0.1 only; `unmask weights`."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from gan_fixtures import make_tiny_generator, write_nvidia_pytorch_pickle, write_rosinality_pt
from unmask.cli import cli
from unmask.errors import CheckpointError, UnmaskError
from unmask.gan import load_generator, zoo

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /model.bin (honouring Range), cuts the first full response short at
    /flaky.bin, and fails with 500 at /broken.bin."""

    ranges: list[str | None] = []
    flaky_served = False

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        if self.path == "/broken.bin":
            self.send_error(500, "internal error")
            return
        if self.path not in ("/model.bin", "/flaky.bin"):
            self.send_error(404)
            return
        rng = self.headers.get("Range")
        type(self).ranges.append(rng)
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        body = PAYLOAD[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/flaky.bin" and not type(self).flaky_served:
            type(self).flaky_served = True
            self.wfile.write(body[: len(body) // 3])  # then drop the connection
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("UNMASK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_cache_dir_follows_unmask_home(home):
    assert zoo.weights_dir() == home / "weights"
    assert zoo.model_path("ffhq-256") == home / "weights" / "stylegan2-ffhq-256x256.pkl"


def test_zoo_has_the_official_models():
    assert {"ffhq-256", "ffhq-512", "ffhq-1024", "ffhq", "ffhq-config-f", "vgg16-lpips"} <= set(zoo.ZOO)
    assert zoo.ZOO["ffhq-config-f"].url.endswith("/stylegan2/networks/stylegan2-ffhq-config-f.pkl")
    assert zoo.ZOO["ffhq-512"].resolution == 512
    with pytest.raises(UnmaskError, match="known models"):
        zoo.get_model("ffhq-2048")


def test_full_download_with_checksum(server, tmp_path, capsys):
    dest = tmp_path / "model.bin"
    zoo.download_file(f"{server}/model.bin", dest, size=len(PAYLOAD),
                      sha256=hashlib.sha256(PAYLOAD).hexdigest(), desc="model")
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("model.bin.part").exists()
    assert "model" in capsys.readouterr().err  # the tqdm progress bar


def test_interrupted_download_resumes_with_range(server, tmp_path):
    dest = tmp_path / "flaky.bin"
    part = tmp_path / "flaky.bin.part"
    _Handler.ranges.clear()
    with pytest.raises(UnmaskError, match="resume") as info:
        zoo.download_file(f"{server}/flaky.bin", dest, progress=False)
    assert str(dest) in str(info.value) and f"{server}/flaky.bin" in str(info.value)
    assert not dest.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    kept = part.stat().st_size
    zoo.download_file(f"{server}/flaky.bin", dest, size=len(PAYLOAD), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert _Handler.ranges == [None, f"bytes={kept}-"]


def test_wrong_checksum_leaves_no_model(server, tmp_path):
    dest = tmp_path / "model.bin"
    with pytest.raises(UnmaskError, match="sha256"):
        zoo.download_file(f"{server}/model.bin", dest, sha256="0" * 64, progress=False)
    assert not dest.exists() and not dest.with_name("model.bin.part").exists()


def test_wrong_size_leaves_no_model(server, tmp_path):
    dest = tmp_path / "model.bin"
    with pytest.raises(UnmaskError, match="bytes"):
        zoo.download_file(f"{server}/model.bin", dest, size=len(PAYLOAD) + 1, progress=False)
    assert not dest.exists() and not dest.with_name("model.bin.part").exists()


def test_server_error_names_address_and_destination(server, tmp_path):
    dest = tmp_path / "sub" / "broken.bin"
    with pytest.raises(UnmaskError) as info:
        zoo.download_file(f"{server}/broken.bin", dest, progress=False)
    message = str(info.value)
    assert "HTTP 500" in message and f"{server}/broken.bin" in message and f"put it at {dest}" in message
    assert not dest.exists()


def test_unreachable_server_names_address_and_destination(tmp_path):
    with http.server.HTTPServer(("127.0.0.1", 0), _Handler) as probe:
        port = probe.server_address[1]  # closed again: nothing listens there
    dest = tmp_path / "x.bin"
    with pytest.raises(UnmaskError, match=f"cannot reach http://127.0.0.1:{port}/x.bin.*put it at {dest}"):
        zoo.download_file(f"http://127.0.0.1:{port}/x.bin", dest, progress=False, timeout=5)


def test_partial_file_is_not_a_model(home, monkeypatch):
    part = zoo.model_path("ffhq-256").with_name("stylegan2-ffhq-256x256.pkl.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"half")
    assert not zoo.is_cached("ffhq-256")
    calls = []
    monkeypatch.setattr(zoo, "download_file", lambda *a, **k: calls.append(a) or a[1])
    zoo.resolve("ffhq-256")
    assert calls, "a .part must trigger a (resumed) download, not be used as the model"


def test_unknown_name_or_missing_file(home):
    with pytest.raises(CheckpointError, match="not a known model name"):
        load_generator("no-such-model")


# --- unmask weights -----------------------------------------------------------------------------


def test_weights_list_and_path(home):
    runner = CliRunner()
    result = runner.invoke(cli, ["weights", "list"])
    assert result.exit_code == 0, result.output
    assert "ffhq-config-f" in result.output and "not downloaded" in result.output
    assert str(home / "weights") in result.output
    result = runner.invoke(cli, ["weights", "path", "ffhq-1024"])
    assert result.output.strip() == str(home / "weights" / "stylegan2-ffhq-1024x1024.pkl")


def test_weights_import_and_convert(home, tmp_path):
    G = make_tiny_generator(resolution=32)
    src = write_nvidia_pytorch_pickle(G, tmp_path / "stylegan2-ffhq-256x256.pkl")
    runner = CliRunner()
    # A 32px network is not ffhq-256: refused, nothing imported.
    result = runner.invoke(cli, ["weights", "import", str(src)])
    assert isinstance(result.exception, CheckpointError) and "32px" in str(result.exception)
    assert not zoo.is_cached("ffhq-256")

    pt = write_rosinality_pt(G, tmp_path / "tiny.pt")
    out = tmp_path / "tiny.safetensors"
    result = runner.invoke(cli, ["weights", "convert", str(pt), str(out)])
    assert result.exit_code == 0, result.output
    assert "32px" in result.output
    back = load_generator(out)
    assert back.config == G.config
    result = runner.invoke(cli, ["weights", "convert", str(out), str(out)])
    assert isinstance(result.exception, UnmaskError) and "input" in str(result.exception)


def test_weights_import_copies_a_matching_file(home, tmp_path, monkeypatch):
    G = make_tiny_generator(resolution=32)
    monkeypatch.setitem(zoo.ZOO, "tiny", zoo.ZooModel("tiny", "http://127.0.0.1:9/tiny.pkl", "test", 32))
    src = write_nvidia_pytorch_pickle(G, tmp_path / "tiny.pkl")
    result = CliRunner().invoke(cli, ["weights", "import", str(src)])
    assert result.exit_code == 0, result.output
    assert zoo.model_path("tiny").read_bytes() == src.read_bytes()
    assert load_generator("tiny").config == G.config


def test_weights_download_command(home, server, monkeypatch):
    monkeypatch.setitem(zoo.ZOO, "tiny", zoo.ZooModel("tiny", f"{server}/model.bin", "test", None,
                                                      size=len(PAYLOAD)))
    result = CliRunner().invoke(cli, ["weights", "download", "tiny"])
    assert result.exit_code == 0, result.output
    assert zoo.model_path("tiny").read_bytes() == PAYLOAD and zoo.is_cached("tiny")
    assert str(zoo.model_path("tiny")) in result.output
