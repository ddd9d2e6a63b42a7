"""Reading and writing photos, and converting between user images and GAN tensors.

User-facing images are uint8 RGB arrays of shape (H, W, 3). Inside the GAN code, images are float
tensors in [-1, 1], shape (N, 3, H, W), RGB. `to_tensor` and `to_uint8` are the only crossings.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from unmask.errors import ImageError
from unmask.photo_meta import HEIF_SUFFIXES, PhotoInfo, is_heif, photo_info, register_heif, save_options

MAX_PIXELS = 100_000_000
"""Largest photo accepted (width x height), about 100 megapixels; larger ones are refused as
possible decompression bombs before any pixel is decoded."""

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", *HEIF_SUFFIXES)
"""File name endings taken for photos when a folder is read (references, evaluation sets)."""

_JPEG_QUALITY = 95


@dataclass(frozen=True)
class NamedImage:
    """A decoded photo, uint8 RGB (H, W, 3), and the file it came from, so that messages about it
    name that file (e.g. a photo whose bytes were read on another machine); `info`: what the file
    carried besides the pixels (EXIF, XMP, ICC profile, JPEG quality; None when unknown), which
    `unmask.complete` writes back with the result. `unmask.complete` accepts one wherever it
    accepts a path or an array."""

    path: Path
    pixels: np.ndarray
    info: PhotoInfo | None = None


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a photo as a uint8 RGB array of shape (H, W, 3), upright as the camera meant it.

    Handles JPEG, PNG, WebP, BMP, TIFF, HEIC/HEIF (pillow-heif); grayscale, palette, RGBA/LA
    (composited over white), 16-bit and CMYK images; EXIF orientation. The pixels stay in the
    photo's own colour space (no ICC conversion). Raises `ImageError` naming the file for a
    missing, empty, corrupt, truncated, non-image or oversized file.
    """
    return read_photo(path, max_pixels).pixels


def read_photo(path: str | Path, max_pixels: int = MAX_PIXELS) -> NamedImage:
    """`read_image`, keeping the file's name and what it carries besides the pixels (`PhotoInfo`:
    EXIF, XMP, ICC profile, JPEG quality and subsampling)."""
    path = Path(path)
    if not path.exists():
        raise ImageError("file not found", path)
    if path.is_dir():
        raise ImageError("is a folder, not an image file", path)
    if path.stat().st_size == 0:
        raise ImageError("file is empty", path)
    with path.open("rb") as handle:
        head = handle.read(12)
    return _decode(path, path, head, max_pixels)


def read_image_bytes(data: bytes, path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """`read_image` for the bytes of a photo file read elsewhere; `path` names that file in the
    errors. Returns uint8 RGB (H, W, 3), upright (EXIF orientation applied)."""
    return read_photo_bytes(data, path, max_pixels).pixels


def read_photo_bytes(data: bytes, path: str | Path, max_pixels: int = MAX_PIXELS) -> NamedImage:
    """`read_photo` for the bytes of a photo file read elsewhere (`path` names it)."""
    if not data:
        raise ImageError("file is empty", path)
    return _decode(io.BytesIO(data), Path(path), data[:12], max_pixels)


def _decode(source: Path | io.BytesIO, path: Path, head: bytes, max_pixels: int) -> NamedImage:
    if is_heif(head, path):
        register_heif(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ImageError(
                        f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, more than "
                        f"the {max_pixels / 1e6:.0f} megapixel limit (a decompression bomb or a scan "
                        "too large to process); shrink it first",
                        path,
                    )
                img.load()
                ImageOps.exif_transpose(img, in_place=True)  # upright; a photo upright already is not copied
                return NamedImage(path, _to_rgb(img), photo_info(img, img))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image is too large to open safely ({exc})", path) from None
    except UnidentifiedImageError:
        raise ImageError("not an image file (or an image format that cannot be read)", path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"image file is corrupt or truncated ({exc})", path) from None


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any PIL mode to a uint8 RGB array (H, W, 3)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        data = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if data.max() > 255 else 255.0
        gray = np.clip(np.round(data * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "F":
        data = np.asarray(img, dtype=np.float64)
        gray = np.clip(np.round(data * (255.0 if data.max() <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    arr = np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(arr)


def write_image(
    path: str | Path,
    image: np.ndarray | Image.Image,
    protect: Iterable[str | Path] = (),
    info: PhotoInfo | None = None,
    strip_location: bool = False,
) -> Path:
    """Write an image atomically (a temporary file in the same folder, then a rename).

    `image` is a uint8 array (H, W, 3) RGB or (H, W) gray, or a PIL image. The format follows the
    suffix (.png, .jpg/.jpeg, .webp, .bmp, .tif, .heic/.heif). `info`: what the photo the image was
    made from carried, written back as the format allows (`unmask.photo_meta.save_options`;
    `strip_location` leaves the EXIF's GPS block out). `protect` lists input files that must never
    be overwritten: writing onto one of them raises `ImageError` and leaves it untouched.
    """
    path = Path(path)
    data = encode_image(image, path, info, strip_location)
    return write_atomic(path, lambda handle: handle.write(data), protect=protect)


def encode_image(image: np.ndarray | Image.Image, path: str | Path, info: PhotoInfo | None = None,
                 strip_location: bool = False) -> bytes:
    """The bytes of the image file `write_image` would write at `path` (format from its suffix;
    the same pixels and `info` always give the same bytes)."""
    path = Path(path)
    pil = image if isinstance(image, Image.Image) else Image.fromarray(_check_uint8(image))
    if path.suffix.lower() in HEIF_SUFFIXES:
        register_heif(path)
    Image.preinit()  # the common formats; every plugin is loaded (about 25 ms) only for the others
    fmt = Image.EXTENSION.get(path.suffix.lower()) or Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"unknown image format '{path.suffix}': use .png, .jpg, .webp, .bmp, .tif or .heic", path)
    options = {"quality": _JPEG_QUALITY} if fmt in ("JPEG", "WEBP") else {}
    options.update(save_options(info, fmt, strip_location))
    if fmt == "JPEG" and pil.mode not in ("RGB", "L"):
        pil = pil.convert("RGB")
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write_atomic(path: str | Path, writer, protect: Iterable[str | Path] = ()) -> Path:
    """Create `path` atomically: `writer(binary_file_handle)` fills a temporary file in the same
    folder, which is then renamed over `path`. Refuses to write onto any file in `protect`."""
    path = Path(path)
    _refuse_inputs(path, protect)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes 0600; outputs follow the umask
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    current = os.umask(0)  # the only portable way to read it is to set it and put it back
    os.umask(current)
    return current


def write_text(path: str | Path, text: str, protect: Iterable[str | Path] = ()) -> Path:
    """Write a UTF-8 text file (JSON, CSV) atomically; see `write_atomic`."""
    return write_atomic(path, lambda handle: handle.write(text.encode("utf-8")), protect=protect)


def _refuse_inputs(path: Path, protect: Iterable[str | Path]) -> None:
    target = path.resolve()
    for item in protect:
        if Path(item).resolve() == target:
            raise ImageError("refusing to overwrite an input file; choose another output path", path)


def _check_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    return image


def to_tensor(image: np.ndarray, device=None):
    """uint8 RGB (H, W, 3) or (N, H, W, 3) -> float32 tensor in [-1, 1], shape (N, 3, H, W)."""
    import torch

    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[3] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 (H, W, 3) or (N, H, W, 3), got {arr.dtype} {arr.shape}")
    if not arr.flags.writeable:  # torch warns on read-only arrays (e.g. a memory-mapped file)
        arr = arr.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(arr)).to(device=device)
    return tensor.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(tensor) -> np.ndarray:
    """Float tensor in [-1, 1], shape (N, 3, H, W) or (3, H, W) -> uint8 (N, H, W, 3) or (H, W, 3)."""
    import torch

    with torch.no_grad():
        single = tensor.dim() == 3
        t = tensor[None] if single else tensor
        if t.dim() != 4 or t.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) or (3, H, W), got {tuple(tensor.shape)}")
        out = t.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
        arr = out.permute(0, 2, 3, 1).cpu().numpy()
    return arr[0] if single else arr
