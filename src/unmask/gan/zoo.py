"""Named pretrained models, the local cache, and resumable, verified downloads.

Cache: `$UNMASK_HOME/weights` if UNMASK_HOME is set, else `<platform user cache dir>/unmask/weights`
(e.g. ~/.cache/unmask/weights on Linux). A download streams to `<file>.part`, resumes it with an
HTTP Range request after an interruption, checks size and sha256 when they are known, and only
then renames it to `<file>`: a `.part` file never counts as a model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from unmask.errors import CheckpointError, UnmaskError

_NGC = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
_ADA = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/"
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class ZooModel:
    """A downloadable model. `size` (bytes) and `sha256` are None unless a published source gives
    them; they are never guessed."""

    name: str
    url: str
    description: str
    resolution: int | None = None  # None: not a generator
    size: int | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


# Addresses: stylegan3 README (NGC StyleGAN2 files), stylegan2-ada-pytorch README (pretrained/
# ffhq.pkl, metrics/vgg16.pt used by its projector.py), stylegan2 README / pretrained_networks.py
# (networks/stylegan2-ffhq-config-f.pkl). None of these sources publishes sizes or checksums.
ZOO: dict[str, ZooModel] = {m.name: m for m in [
    ZooModel("ffhq-256", _NGC + "stylegan2-ffhq-256x256.pkl",
             "StyleGAN2 FFHQ 256x256 (NVIDIA NGC, stylegan3 release; PyTorch pickle)", 256),
    ZooModel("ffhq-512", _NGC + "stylegan2-ffhq-512x512.pkl",
             "StyleGAN2 FFHQ 512x512 (NVIDIA NGC, stylegan3 release; PyTorch pickle)", 512),
    ZooModel("ffhq-1024", _NGC + "stylegan2-ffhq-1024x1024.pkl",
             "StyleGAN2 FFHQ 1024x1024 (NVIDIA NGC, stylegan3 release; PyTorch pickle)", 1024),
    ZooModel("ffhq", _ADA + "ffhq.pkl",
             "StyleGAN2 FFHQ 1024x1024 (stylegan2-ada-pytorch pretrained; PyTorch pickle)", 1024),
    ZooModel("ffhq-config-f", "https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks/stylegan2-ffhq-config-f.pkl",
             "original StyleGAN2 config-f FFHQ 1024x1024, the paper's network (TensorFlow pickle)", 1024),
    ZooModel("vgg16-lpips", _ADA + "metrics/vgg16.pt",
             "VGG16 LPIPS feature network used by NVIDIA's projector (TorchScript; not a generator)"),
]}


def weights_dir() -> Path:
    """Folder of downloaded and imported weights ($UNMASK_HOME/weights or the user cache dir)."""
    home = os.environ.get("UNMASK_HOME")
    if home:
        return Path(home).expanduser() / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir("unmask")) / "weights"


def get_model(name: str) -> ZooModel:
    """The zoo entry `name`; UnmaskError listing the known names otherwise."""
    if name not in ZOO:
        raise UnmaskError(f"unknown model '{name}'; known models: {', '.join(ZOO)}")
    return ZOO[name]


def model_path(name: str) -> Path:
    """Where model `name` lives in the cache (whether or not it is there yet)."""
    return weights_dir() / get_model(name).filename


def is_cached(name: str) -> bool:
    """True when the complete file of `name` is in the cache (a `.part` does not count)."""
    return model_path(name).is_file()


def resolve(name_or_path: str | Path) -> Path:
    """An existing weights file, or the cached file of a zoo name (downloaded if missing)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    name = str(name_or_path)
    if name in ZOO:
        return download(name)
    if path.exists():
        raise CheckpointError("not a file", path)
    raise CheckpointError(f"file not found, and not a known model name ({', '.join(ZOO)})", path)


def download(name: str, progress: bool = True) -> Path:
    """Make sure zoo model `name` is in the cache, downloading (or resuming) it; returns its path."""
    model = get_model(name)
    dest = model_path(name)
    if dest.is_file():
        return dest
    return download_file(model.url, dest, size=model.size, sha256=model.sha256, progress=progress, desc=name)


def download_file(url: str, dest: Path, size: int | None = None, sha256: str | None = None,
                  progress: bool = True, desc: str | None = None, timeout: float = 60.0) -> Path:
    """Stream `url` to `dest` through `dest.part` (resumed with an HTTP Range request if present),
    verify `size`/`sha256` when given, then rename atomically. Failures raise UnmaskError naming
    the address and the exact path to place the file at by hand; an interrupted `.part` is kept
    for resuming, a corrupt one (wrong size or checksum) is deleted."""
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    manual = f"download it yourself from {url} and put it at {dest}"
    headers = {"User-Agent": "unmask"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset and (size is None or offset == size):
            return _finish(part, dest, size, sha256, manual)  # the .part is already complete
        raise UnmaskError(f"download failed: the server answered HTTP {exc.code} for {url}; {manual}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnmaskError(f"cannot reach {url} ({reason}): offline or blocked? Then {manual}") from None
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored the Range request: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else size
        try:
            with open(part, "ab" if offset else "wb") as handle, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=desc or dest.name, disable=not progress) as bar:
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    bar.update(len(chunk))
        except (http.client.HTTPException, OSError) as exc:
            raise UnmaskError(f"download of {url} interrupted ({type(exc).__name__}); run the same "
                              f"command again to resume from {part}, or {manual}") from None
    got = part.stat().st_size
    if total is not None and got < total:
        raise UnmaskError(f"download of {url} stopped after {got} of {total} bytes; run the same "
                          f"command again to resume from {part}, or {manual}")
    return _finish(part, dest, size, sha256, manual)


def _finish(part: Path, dest: Path, size: int | None, sha256: str | None, manual: str) -> Path:
    got = part.stat().st_size
    if size is not None and got != size:
        part.unlink()
        raise UnmaskError(f"downloaded file has {got} bytes, expected {size}; deleted it. {manual}")
    if sha256 is not None:
        digest = file_sha256(part)
        if digest != sha256.lower():
            part.unlink()
            raise UnmaskError(f"downloaded file has sha256 {digest}, expected {sha256}; deleted it. {manual}")
    os.replace(part, dest)
    return dest


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
