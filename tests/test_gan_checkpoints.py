"""Checkpoint readers: every format gives the same generator; the own format round-trips exactly;
malicious files are refused and nothing they carry runs."""

from __future__ import annotations

import builtins
import os
import pickle
from pathlib import Path

import pytest
import torch

from gan_fixtures import (make_tiny_generator, write_nvidia_pytorch_pickle, write_nvidia_tf_pickle,
                          write_rosinality_pt)
from unmask.errors import CheckpointError
from unmask.gan import load_generator, read_weights, save_generator
from unmask.gan.checkpoints import detect_format

WRITERS = {"nvidia-pytorch": write_nvidia_pytorch_pickle, "nvidia-tf": write_nvidia_tf_pickle,
           "rosinality": write_rosinality_pt}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", params=[32, 64])
def tiny(request, tmp_path_factory):
    G = make_tiny_generator(resolution=request.param, seed=request.param)
    folder = tmp_path_factory.mktemp(f"tiny{request.param}")
    files = {name: write(G, folder / f"G.{name}") for name, write in WRITERS.items()}
    return G, files, _render(G)


def _render(G, seed=1):
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return G(z, truncation_psi=0.7, noise_mode="const")


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_format_loads_to_the_same_generator(tiny, fmt):
    G, files, image = tiny
    loaded = load_generator(files[fmt])
    assert loaded.config == G.config
    assert (_render(loaded) - image).abs().max() < 1e-5
    ref = G.state_dict()
    for name, value in loaded.state_dict().items():
        assert torch.allclose(value, ref[name], atol=1e-6), name


def test_format_is_detected_from_content_not_suffix(tiny, tmp_path):
    _, files, _ = tiny
    assert detect_format(files["nvidia-pytorch"]) == "nvidia-pickle"
    assert detect_format(files["nvidia-tf"]) == "nvidia-pickle"
    assert detect_format(files["rosinality"]) == "torch"
    renamed = tmp_path / "weights.safetensors"
    renamed.write_bytes(files["rosinality"].read_bytes())
    assert detect_format(renamed) == "torch"


def test_own_format_round_trips_exactly(tiny, tmp_path):
    G, _, image = tiny
    path = save_generator(G, tmp_path / "g.safetensors")
    assert detect_format(path) == "safetensors"
    back = load_generator(path)
    assert back.config == G.config
    ref = G.state_dict()
    assert set(back.state_dict()) == set(ref)
    assert all(torch.equal(v, ref[k]) for k, v in back.state_dict().items())
    assert torch.equal(_render(back), image)


def test_conv_clamp_survives_nvidia_formats(tmp_path):
    G = make_tiny_generator(resolution=32, conv_clamp=256)
    for write in (write_nvidia_pytorch_pickle, write_nvidia_tf_pickle):
        config, _ = read_weights(write(G, tmp_path / write.__name__))
        assert config.conv_clamp == 256


def test_rosinality_without_latent_avg_gets_a_mean_w(tmp_path):
    G = make_tiny_generator(resolution=32)
    path = write_rosinality_pt(G, tmp_path / "g.pt")
    ckpt = torch.load(path, weights_only=True)
    del ckpt["latent_avg"]
    torch.save(ckpt, path)
    _, state = read_weights(path)
    with torch.no_grad():
        expected = G.mapping(torch.randn(10_000, G.z_dim, generator=torch.Generator().manual_seed(0)))[:, 0].mean(0)
    assert torch.allclose(state["mapping.w_avg"], expected, atol=1e-5)


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "missing.pkl")
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_generator(empty)
    text = tmp_path / "notes.pkl"
    text.write_text("hello, these are not weights")
    with pytest.raises(CheckpointError, match="unknown weights format"):
        load_generator(text)
    truncated = tmp_path / "cut.pkl"
    G = make_tiny_generator(resolution=32)
    full = write_nvidia_pytorch_pickle(G, tmp_path / "full.pkl").read_bytes()
    truncated.write_bytes(full[: len(full) // 2])
    with pytest.raises(CheckpointError, match=str(truncated.name)):
        load_generator(truncated)
    other = tmp_path / "other.pkl"
    with open(other, "wb") as handle:
        pickle.dump({"hello": [1, 2, 3]}, handle)
    with pytest.raises(CheckpointError, match="no NVIDIA generator"):
        load_generator(other)
    plain_sf = tmp_path / "plain.safetensors"
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(plain_sf))
    with pytest.raises(CheckpointError, match="without a unmask generator config"):
        load_generator(plain_sf)


# --- malicious files ------------------------------------------------------------------------------


class _Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _assert_refused(path: Path, marker: Path, match: str) -> None:
    with pytest.raises(CheckpointError, match=match) as info:
        load_generator(path)
    assert str(path) in str(info.value)
    assert not marker.exists(), "code inside the checkpoint ran"


def test_reduce_calling_os_system_is_refused(tmp_path):
    marker = tmp_path / "pwned-system"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Reduce(os.system, f"touch {marker}")}, protocol=4))
    _assert_refused(path, marker, r"(posix|os|nt)\.system")


def test_reduce_calling_exec_is_refused(tmp_path):
    marker = tmp_path / "pwned-exec"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Reduce(builtins.exec, f"open({str(marker)!r}, 'w').write('x')"), protocol=2))
    _assert_refused(path, marker, r"builtins\.exec")


def test_module_src_of_a_persistent_record_never_runs(tmp_path):
    marker = tmp_path / "pwned-module-src"
    G = make_tiny_generator(resolution=32)
    evil_src = f"open({str(marker)!r}, 'w').write('module_src ran')\n"
    path = write_nvidia_pytorch_pickle(G, tmp_path / "evil-src.pkl", module_src=evil_src)
    loaded = load_generator(path)  # the weights are fine: they load, the code is ignored
    assert not marker.exists(), "module_src was executed"
    assert (_render(loaded) - _render(G)).abs().max() < 1e-5


def test_tensor_storage_bytes_cannot_smuggle_a_pickle(tmp_path):
    # torch's own _load_from_bytes would unpickle these bytes with weights_only=False.
    marker = tmp_path / "pwned-storage"
    inner = pickle.dumps(_Reduce(os.system, f"touch {marker}"), protocol=2)
    from torch.storage import _load_from_bytes

    path = tmp_path / "evil-storage.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Reduce(_load_from_bytes, inner)}, protocol=4))
    _assert_refused(path, marker, "cannot read this pickle")


def test_rosinality_file_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned-pt"
    path = tmp_path / "evil.pt"
    torch.save({"g_ema": _Reduce(os.system, f"touch {marker}")}, path)
    _assert_refused(path, marker, "cannot read this torch file safely")


def test_unsupported_generators_are_refused(tmp_path):
    from unmask.gan.nvidia_pickle import convert_pytorch_pickle, read_pickle

    path = write_nvidia_pytorch_pickle(make_tiny_generator(resolution=32), tmp_path / "g.pkl")

    def convert_after(change) -> None:
        data = read_pickle(path)
        change(data["G_ema"].state)
        convert_pytorch_pickle(data, path)

    convert_after(lambda state: None)  # unchanged: fine
    with pytest.raises(CheckpointError, match="conditional"):
        convert_after(lambda state: state.update(c_dim=10))
    with pytest.raises(CheckpointError, match="resnet"):
        convert_after(lambda state: state["_modules"]["synthesis"].state["_modules"]["b8"].state.update(
            architecture="resnet"))
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        convert_after(lambda state: state["_modules"]["synthesis"].state["_modules"].update(
            input=state["_modules"]["mapping"]))
