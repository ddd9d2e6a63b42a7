"""What a photo carries besides its pixels (EXIF, XMP, ICC colour profile, JPEG quality and
chroma subsampling), read when it is decoded and written back with the result; and HEIC/HEIF
through pillow-heif, registered with Pillow on first use.

The pixels are never converted between colour spaces: they stay as decoded, in the photo's own
colour space, and the photo's ICC profile is written back with them, so every pixel outside the
filled region looks as before in a colour-managed viewer (the fill takes its colours from the
photo itself).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, JpegImagePlugin

from unmask.errors import ImageError

HEIF_SUFFIXES = (".heic", ".heif")
HEIF_INSTALL = "pip install pillow-heif"
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1")

# libjpeg's base tables (JPEG standard, Annex K), in natural (row-major) order, as Pillow's
# `quantization` gives them: a quality q scales them by 5000/q (q < 50) or 200 - 2q percent
_LUMA = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
_CHROMA = (17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
           47, 66, 99, 99, 99, 99, 99, 99, *(99,) * 32)

_JPEG_EXIF_ROOM, _JPEG_XMP_ROOM = 65533, 65504  # the most one JPEG segment holds (Pillow refuses more)

# what each output format can carry; the rest is left out of that format's file
_CARRIES = {"JPEG": {"exif", "xmp", "icc_profile"}, "PNG": {"exif", "xmp", "icc_profile"},
            "WEBP": {"exif", "xmp", "icc_profile"}, "HEIF": {"exif", "xmp", "icc_profile"},
            "TIFF": {"icc_profile"}}


@dataclass(frozen=True)
class PhotoInfo:
    """What a decoded photo carried besides its pixels. `format`: Pillow's name of the file's
    format ("JPEG", "PNG", "HEIF", ...); `exif`: the EXIF block as read (orientation already
    applied to the pixels and removed); `xmp`: the XMP packet; `icc_profile`: the ICC profile
    when it describes RGB pixels (a gray or CMYK one no longer fits once the pixels are RGB);
    `quality`: the libjpeg quality 1..100 that gives the JPEG's quantisation tables (estimated);
    `subsampling`: Pillow's code of the JPEG's chroma subsampling (0 = 4:4:4, 1 = 4:2:2,
    2 = 4:2:0). Each is None when the photo has none."""

    format: str | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    icc_profile: bytes | None = None
    quality: int | None = None
    subsampling: int | None = None

    def record(self) -> dict[str, Any]:
        """A JSON-able summary: the format, which blocks the photo carries, quality, subsampling."""
        return {"format": self.format, "exif": self.exif is not None, "xmp": self.xmp is not None,
                "icc_profile": self.icc_profile is not None, "jpeg_quality": self.quality,
                "jpeg_subsampling": self.subsampling}


def photo_info(img: Image.Image, upright: Image.Image) -> PhotoInfo:
    """The `PhotoInfo` of an opened photo `img` (for its format and JPEG tables) whose upright
    version `upright` (`ImageOps.exif_transpose`) holds the EXIF and XMP without orientation."""
    icc = img.info.get("icc_profile") or None
    if icc is not None and icc[16:20] != b"RGB ":  # header: the colour space of the profile's data
        icc = None
    xmp = upright.info.get("xmp") or upright.info.get("XML:com.adobe.xmp") or None
    quality = subsampling = None
    if img.format == "JPEG" and getattr(img, "quantization", None):
        quality = estimate_jpeg_quality(img.quantization)
        sampling = JpegImagePlugin.get_sampling(img)
        subsampling = sampling if sampling >= 0 else None
    return PhotoInfo(format=img.format, exif=upright.info.get("exif") or None,
                     xmp=xmp.encode("utf-8") if isinstance(xmp, str) else xmp, icc_profile=icc,
                     quality=quality, subsampling=subsampling)


def estimate_jpeg_quality(tables: dict[int, list[int]]) -> int:
    """The libjpeg quality (1..100) whose scaled standard tables are closest to a JPEG's
    quantisation `tables` (Pillow's `quantization`: table id -> 64 values, natural order; table
    0 luminance, 1 chrominance): exact for files libjpeg wrote, the nearest for other encoders."""
    qualities = np.arange(1, 101)
    scales = np.where(qualities < 50, 5000 // qualities, 200 - 2 * qualities)[:, None]
    errors = np.zeros(len(qualities), np.int64)  # summed absolute differences, one per quality
    for i, base in ((0, _LUMA), (1, _CHROMA)):
        if i in tables:
            values = np.asarray(tables[i], np.int64)[: len(base)]
            scaled = np.clip((np.asarray(base[: len(values)], np.int64) * scales + 50) // 100, 1, 255)
            errors += np.abs(scaled - values).sum(axis=1)
    return int(qualities[errors == errors.min()].max())  # the closest; of equally close ones the highest


def save_options(info: PhotoInfo | None, fmt: str, strip_location: bool = False) -> dict[str, Any]:
    """Pillow save options that write `info` into a file of format `fmt`: its EXIF with orientation
    1 (the pixels are upright; reading took the XMP's orientation out) and, with `strip_location`,
    without its GPS block; XMP; the ICC profile; a JPEG at the input JPEG's quality and
    subsampling. {} without info."""
    if info is None:
        return {}
    carries = _CARRIES.get(fmt, set())
    options: dict[str, Any] = {}
    if "exif" in carries and info.exif is not None:
        exif = Image.Exif()
        exif.load(info.exif)
        exif[ExifTags.Base.Orientation] = 1
        if strip_location:
            exif.pop(ExifTags.IFD.GPSInfo, None)
        options["exif"] = exif.tobytes()
    if "xmp" in carries and info.xmp is not None:
        if fmt == "PNG":
            from PIL.PngImagePlugin import PngInfo

            options["pnginfo"] = PngInfo()
            options["pnginfo"].add_itxt("XML:com.adobe.xmp", info.xmp.decode("utf-8", "replace"))
        else:
            options["xmp"] = info.xmp
    if "icc_profile" in carries and info.icc_profile is not None:
        options["icc_profile"] = info.icc_profile
    if fmt == "JPEG":
        for key, room in (("exif", _JPEG_EXIF_ROOM), ("xmp", _JPEG_XMP_ROOM)):
            if len(options.get(key, b"")) > room:  # a HEIC's or PNG's block may not fit a JPEG segment
                warnings.warn(f"the photo's {key.upper()} ({len(options.pop(key))} bytes) does not fit "
                              f"a JPEG file ({room} bytes at most): left out of the result")
    if fmt == "JPEG" and info.format == "JPEG" and info.quality is not None:
        options["quality"] = info.quality
        if info.subsampling is not None:
            options["subsampling"] = info.subsampling
    return options


def is_heif(head: bytes, path: str | Path) -> bool:
    """True when a file is HEIF/HEIC: its first bytes `head` (at least 12) hold an ISO `ftyp` box
    with a HEIF brand, or its name ends .heic/.heif."""
    return (head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS) or Path(path).suffix.lower() in HEIF_SUFFIXES


def register_heif(path: str | Path) -> None:
    """Let Pillow open and save HEIF/HEIC (pillow-heif; done once, on the first HEIF file).
    `ImageError` naming `path` and the install command when pillow-heif is missing."""
    try:
        import pillow_heif
    except ImportError:
        raise ImageError(f"HEIC/HEIF photos need pillow-heif: {HEIF_INSTALL}", path) from None
    if "HEIF" not in Image.OPEN:
        pillow_heif.register_heif_opener()
