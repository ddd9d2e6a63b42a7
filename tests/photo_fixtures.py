"""Photos as cameras and phones write them, for the metadata tests: EXIF (date taken, camera,
orientation, GPS), XMP and an ICC profile (sRGB, or a Display P3 one built here), in JPEG or HEIC."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageCms

TAKEN = "2019:07:14 10:11:12"
MAKE, MODEL = "Canon", "EOS 5D Mark IV"
XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4" xmp:Label="unmask test"/>'
       b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')

# Display P3: the P3 primaries with a D65 white, adapted to D50 (Bradford), and the sRGB curve
_P3_COLORANTS = ((0.51512, 0.24120, -0.00105), (0.29198, 0.69225, 0.04189), (0.15710, 0.06657, 0.78407))
_D50 = (0.9642, 1.0, 0.8249)


def srgb_profile() -> bytes:
    """An sRGB ICC profile (littleCMS's)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def display_p3_profile() -> bytes:
    """A Display P3 ICC profile (version 2.1 matrix/TRC display profile), as phones tag photos."""

    def xyz(values) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    text = b"Display P3 (unmask test)"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0" + bytes(4 + 4 + 2 + 1 + 67)
    levels = np.arange(1024) / 1023
    linear = np.where(levels <= 0.04045, levels / 12.92, ((levels + 0.055) / 1.055) ** 2.4)
    curve = b"curv\0\0\0\0" + struct.pack(">I", 1024) + np.round(linear * 65535).astype(">u2").tobytes()
    tags = [(b"desc", desc), (b"wtpt", xyz(_D50)), (b"rXYZ", xyz(_P3_COLORANTS[0])),
            (b"gXYZ", xyz(_P3_COLORANTS[1])), (b"bXYZ", xyz(_P3_COLORANTS[2])), (b"rTRC", curve),
            (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text\0\0\0\0No copyright, test data\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + b"".join(struct.pack(">i", round(v * 65536)) for v in _D50) + bytes(48))
    assert len(header) == 128
    return header + table + data


def camera_exif(orientation: int = 1, gps: bool = True) -> bytes:
    """EXIF as a camera writes it: make, model, orientation, date taken and (with `gps`) a location."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = MAKE, MODEL
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = TAKEN
    if gps:
        place = exif.get_ifd(ExifTags.IFD.GPSInfo)
        place[ExifTags.GPS.GPSLatitudeRef], place[ExifTags.GPS.GPSLatitude] = "N", (48.0, 51.0, 24.0)
        place[ExifTags.GPS.GPSLongitudeRef], place[ExifTags.GPS.GPSLongitude] = "E", (2.0, 21.0, 7.0)
    return exif.tobytes()


def write_camera_photo(path: Path, upright: np.ndarray, icc: bytes, quality: int = 92, subsampling: int = 2,
                       orientation: int = 1) -> Path:
    """Write `upright` (uint8 (H, W, 3)) as a camera would: stored turned so that EXIF
    `orientation` (1 or 6) turns it upright again, with `camera_exif`, `XMP` and the ICC profile;
    JPEG at `quality`/`subsampling`, or HEIC for a .heic name."""
    stored = Image.fromarray(upright)
    if orientation == 6:  # the viewer turns it 90 degrees clockwise
        stored = stored.transpose(Image.Transpose.ROTATE_90)
    options = dict(exif=camera_exif(orientation), xmp=XMP, icc_profile=icc)
    if path.suffix.lower() == ".heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
        stored.save(path, format="HEIF", quality=90, **options)
    else:
        stored.save(path, format="JPEG", quality=quality, subsampling=subsampling, **options)
    return path


def exif_of(path: Path) -> tuple[dict[int, object], dict[int, object], dict[int, object]]:
    """A photo's EXIF: (main block, Exif block, GPS block)."""
    exif = Image.open(path).getexif()
    return dict(exif), exif.get_ifd(ExifTags.IFD.Exif), exif.get_ifd(ExifTags.IFD.GPSInfo)


def to_srgb(path: Path) -> np.ndarray:
    """The photo as a colour-managed viewer shows it: converted from its embedded ICC profile to
    sRGB (a photo without one is taken as sRGB, as viewers do), uint8 (H, W, 3), upright."""
    from PIL import ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        icc = image.info.get("icc_profile")
        if icc:
            image = ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                              ImageCms.createProfile("sRGB"), outputMode="RGB")
        return np.asarray(image)
