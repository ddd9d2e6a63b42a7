"""Loading and saving generator weights: one entry point that detects the format from the file's
content (never its suffix), and the project's own format.

Formats read:
- `safetensors`: our own format, written by `save_generator` / `unmask weights convert`.
- `nvidia-pickle`: NVIDIA PyTorch pickles (stylegan2-ada-pytorch, stylegan3's StyleGAN2 networks)
  and NVIDIA TensorFlow pickles (original StyleGAN2), read by `nvidia_pickle` without running code.
- `torch`: files written by `torch.save` (rosinality/stylegan2-pytorch `.pt`), read with
  `torch.load(weights_only=True)`.

Own format: ONE `.safetensors` file. The tensors are the generator's state dict; the header's
string metadata holds {"format": "unmask.stylegan2", "format_version": "1", "config": <JSON of
GeneratorConfig>}. One file (rather than weights + side JSON) cannot lose its half, is written
atomically in one rename, and its header is plain JSON that `safetensors` parses without code.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Iterable

import torch

from unmask.errors import CheckpointError
from unmask.gan.generator import Generator, GeneratorConfig
from unmask.gan.nvidia_pickle import check_filter, config_from_state, convert_nvidia_pickle
from unmask.images import write_atomic

FORMAT_NAME = "unmask.stylegan2"
FORMAT_VERSION = "1"
# torch.save's legacy (non-zip) files start with this number, pickled with protocol 2.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def detect_format(path: str | Path) -> str:
    """'safetensors', 'nvidia-pickle' or 'torch', from the first bytes of the file.
    CheckpointError for a missing, empty or unknown file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("weights file not found" if not path.exists() else "not a file", path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(16)
    if not head:
        raise CheckpointError("weights file is empty", path)
    if head.startswith(b"PK\x03\x04"):
        return "torch"
    if head[0] == 0x80 and len(head) >= 14 and head[2:4] == b"\x8a\x0a" \
            and int.from_bytes(head[4:14], "little") == _TORCH_LEGACY_MAGIC:
        return "torch"
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return "nvidia-pickle"
    if len(head) >= 9 and head[8:9] == b"{" and 8 + struct.unpack("<Q", head[:8])[0] <= size:
        return "safetensors"
    raise CheckpointError("unknown weights format (expected an NVIDIA .pkl, a rosinality .pt or a "
                          "unmask .safetensors file)", path)


def read_weights(path: str | Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Read any supported weights file -> (config, state dict in our naming), float32 on CPU."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "safetensors":
        return _read_safetensors(path)
    if fmt == "nvidia-pickle":
        return convert_nvidia_pickle(path)
    return _read_torch(path)


def load_generator(name_or_path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """A Generator from a zoo name (downloaded to the cache if missing) or a weights file of any
    supported format. Returned in eval mode with requires_grad False on all parameters."""
    from unmask.gan import zoo

    path = zoo.resolve(name_or_path)
    config, state = read_weights(path)
    return build_generator(config, state, path).to(device)


def build_generator(config: GeneratorConfig, state: dict[str, torch.Tensor], path: Path) -> Generator:
    """Instantiate `config` and load `state` exactly (CheckpointError naming `path` on mismatch)."""
    try:
        G = Generator.from_state(config, {k: v.float().contiguous() for k, v in state.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not fit the generator they describe: {exc}", path) from None
    return G.eval().requires_grad_(False)


def save_generator(G: Generator, path: str | Path, protect: Iterable[str | Path] = ()) -> Path:
    """Write G in the own format (one .safetensors file: weights + JSON config), atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in G.state_dict().items()}
    metadata = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "config": json.dumps(G.config.to_dict(), sort_keys=True)}
    data = save(tensors, metadata=metadata)
    return write_atomic(path, lambda handle: handle.write(data), protect=protect)


def _read_safetensors(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            meta = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read this safetensors file ({exc})", path) from None
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError("safetensors file without a unmask generator config (not written by "
                              "`unmask weights convert`)", path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported unmask weights version {meta.get('format_version')!r}", path)
    try:
        config = GeneratorConfig.from_dict(json.loads(meta["config"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"bad generator config in the file header ({exc})", path) from None
    return config, {k: v.float() for k, v in state.items()}


def _read_torch(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if any(name.endswith("/constants.pkl") for name in archive.namelist()):
                raise CheckpointError("this is a TorchScript model (e.g. the VGG16 of the LPIPS "
                                      "metric), not generator weights", path)
    try:
        # rosinality's training checkpoints also pickle their argparse options.
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or disallowed content
        raise CheckpointError(f"cannot read this torch file safely ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})", path) from None
    if isinstance(ckpt, dict) and isinstance(ckpt.get("g_ema"), dict):
        return convert_rosinality(ckpt["g_ema"], ckpt.get("latent_avg"), path)
    if isinstance(ckpt, dict) and "style.1.weight" in ckpt:
        return convert_rosinality(ckpt, None, path)
    raise CheckpointError("this torch file holds no generator (expected rosinality's 'g_ema')", path)


def convert_rosinality(sd: dict[str, torch.Tensor], latent_avg: torch.Tensor | None,
                       path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """rosinality/stylegan2-pytorch `g_ema` state dict -> (config, state in our naming).

    Its modulation biases already include TF's +1 and its up-sampling kernels are already flipped
    (convert_weight.py), which is also NVIDIA PyTorch's layout, so weights copy over unchanged.
    Without `latent_avg`, w_avg is the mean w of 10,000 fixed random z (as rosinality computes it).
    """
    def get(name: str) -> torch.Tensor:
        if name not in sd or not isinstance(sd[name], torch.Tensor):
            raise CheckpointError(f"rosinality weight '{name}' is missing", path)
        return sd[name].float()

    state: dict[str, torch.Tensor] = {}
    layers = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    for i, idx in enumerate(layers):
        state[f"mapping.fc{i}.weight"] = get(f"style.{idx}.weight")
        state[f"mapping.fc{i}.bias"] = get(f"style.{idx}.bias")
    state["synthesis.b4.const"] = get("input.input")[0]

    def styled_conv(src: str, dst: str, noise: str) -> None:
        state[f"{dst}.weight"] = get(f"{src}.conv.weight")[0]
        state[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight")
        state[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias")
        state[f"{dst}.noise_strength"] = get(f"{src}.noise.weight").reshape(())
        state[f"{dst}.noise_const"] = get(noise)
        state[f"{dst}.bias"] = get(f"{src}.activate.bias")

    def to_rgb(src: str, dst: str) -> None:
        state[f"{dst}.weight"] = get(f"{src}.conv.weight")[0]
        state[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight")
        state[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias")
        state[f"{dst}.bias"] = get(f"{src}.bias").reshape(-1)

    styled_conv("conv1", "synthesis.b4.conv1", "noises.noise_0")
    to_rgb("to_rgb1", "synthesis.b4.torgb")
    i = 0
    while f"convs.{2 * i}.conv.weight" in sd:
        res = 2 ** (i + 3)
        styled_conv(f"convs.{2 * i}", f"synthesis.b{res}.conv0", f"noises.noise_{2 * i + 1}")
        styled_conv(f"convs.{2 * i + 1}", f"synthesis.b{res}.conv1", f"noises.noise_{2 * i + 2}")
        to_rgb(f"to_rgbs.{i}", f"synthesis.b{res}.torgb")
        for kernel in (f"convs.{2 * i}.conv.blur.kernel", f"to_rgbs.{i}.upsample.kernel"):
            if kernel in sd:
                check_filter(sd[kernel], path, kernel)
        i += 1
    config = config_from_state(state, path)
    if latent_avg is None:
        state["mapping.w_avg"] = _mean_w(config, state, path)
    else:
        state["mapping.w_avg"] = latent_avg.float().reshape(-1)
    return config, state


def _mean_w(config: GeneratorConfig, state: dict[str, torch.Tensor], path: Path) -> torch.Tensor:
    G = build_generator(config, {**state, "mapping.w_avg": torch.zeros(config.w_dim)}, path)
    z = torch.randn(10_000, config.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return G.mapping(z)[:, 0].mean(dim=0)
