"""The photo's own metadata and colours: EXIF (date taken, camera; orientation written as upright;
the location dropped on request), XMP and the ICC profile survive `unmask run`, `unmask batch` and
the Python API; a JPEG is written at the input's quality and subsampling; HEIC in and out; a
Display P3 photo looks the same outside the region in a colour-managed viewer."""

from __future__ import annotations

import csv
import io
import sys

import numpy as np
import pytest
from PIL import ExifTags, Image, JpegImagePlugin
from scipy import ndimage

from unmask.cli import main
from unmask.errors import ImageError
from unmask.face import find_face
from unmask.images import encode_image, read_image, read_photo, write_image
from unmask.photo_meta import estimate_jpeg_quality

from photo_fixtures import (MAKE, MODEL, TAKEN, XMP, display_p3_profile, exif_of, srgb_profile, to_srgb,
                            write_camera_photo)
from test_cli_run import _error
from test_pipeline import _paint_mask

SIDE = 360  # small photos keep the runs fast
GROW = 12  # px around the painted region that compositing may change (grow, feather, colour ring)


@pytest.fixture(scope="module")
def scene(people_dir, tmp_path_factory):
    """A masked photo (painted flat mask), upright uint8 (H, W, 3), its region, a reference and a
    folder for the runs."""
    image = Image.fromarray(read_image(people_dir / "p02" / "2.jpg"))
    image.thumbnail((SIDE, SIDE))
    photo = np.asarray(image)
    masked, region = _paint_mask(photo, find_face(photo).landmarks)
    folder = tmp_path_factory.mktemp("meta")
    return {"masked": masked, "region": region, "folder": folder, "reference": people_dir / "p02" / "3.jpg",
            "mask": write_image(folder / "mask.png", region.astype(np.uint8) * 255)}


def _run(scene, target, output, *extra):
    main(["run", str(target), "-r", str(scene["reference"]), "--mask", str(scene["mask"]), "--tries", "1",
          "-o", str(output), "--quiet", *extra])


def _assert_kept(path, icc, gps: bool) -> None:
    """The photo at `path` carries the camera's EXIF upright, the XMP and exactly the ICC profile."""
    with Image.open(path) as image:
        assert image.info.get("icc_profile") == icc
        assert read_photo(path).info.xmp == XMP
    main_ifd, exif_ifd, gps_ifd = exif_of(path)
    assert (main_ifd[ExifTags.Base.Make], main_ifd[ExifTags.Base.Model]) == (MAKE, MODEL)
    assert main_ifd[ExifTags.Base.Orientation] == 1
    assert exif_ifd[ExifTags.Base.DateTimeOriginal] == TAKEN
    assert bool(gps_ifd) == gps
    if gps:
        assert gps_ifd[ExifTags.GPS.GPSLatitude] == (48.0, 51.0, 24.0)


def _quality(path) -> tuple[int, int]:
    with Image.open(path) as image:
        return estimate_jpeg_quality(image.quantization), JpegImagePlugin.get_sampling(image)


def _outside(region: np.ndarray) -> np.ndarray:
    return ~ndimage.binary_dilation(region, iterations=GROW)


@pytest.mark.parametrize("quality", [30, 50, 70, 85, 92, 100])
def test_quality_estimate_is_the_libjpeg_quality(quality):
    rng = np.random.default_rng(quality)
    data = encode_image(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), "x.jpg")
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, format="JPEG", quality=quality)
    assert estimate_jpeg_quality(Image.open(buffer).quantization) == quality


def test_quality_estimate_of_other_encoders_tables_is_the_nearest_quality():
    """Tables no libjpeg quality gives (other encoders, one table only, 16-bit values): the quality
    whose scaled standard tables are nearest in summed absolute difference, the highest of equally
    near ones, as the definition computes it quality by quality."""
    from unmask.photo_meta import _CHROMA, _LUMA

    def nearest(tables):
        def error(q):
            scale = 5000 // q if q < 50 else 200 - 2 * q
            return sum(abs(min(max((b * scale + 50) // 100, 1), 255) - v)
                       for i, base in ((0, _LUMA), (1, _CHROMA)) if i in tables for b, v in zip(base, tables[i]))
        return min(range(1, 101), key=lambda q: (error(q), -q))

    rng = np.random.default_rng(5)
    cases = [{0: list(rng.integers(1, 256, 64)), 1: list(rng.integers(1, 256, 64))} for _ in range(20)]
    cases += [{0: list(rng.integers(1, 65536, 64))}, {1: [1] * 64}, {0: [255] * 64, 1: [255] * 64}, {0: [2] * 64}]
    found = [estimate_jpeg_quality(tables) for tables in cases]
    assert found == [nearest(tables) for tables in cases]
    assert len(set(found)) > 5  # the cases reach many different qualities


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".heic"])
def test_every_output_format_keeps_what_the_photo_carries(scene, suffix):
    """Read a camera JPEG turned by EXIF orientation 6 and write it in each format: upright pixels,
    orientation 1, date, camera, location, XMP and the ICC profile byte for byte."""
    folder, icc = scene["folder"], display_p3_profile()
    source = write_camera_photo(folder / f"camera{suffix}.jpg", scene["masked"], icc, orientation=6)
    photo = read_photo(source)
    assert photo.pixels.shape == scene["masked"].shape
    assert photo.info.exif is not None and photo.info.icc_profile == icc and photo.info.xmp == XMP
    out = write_image(folder / f"copy{suffix}", photo.pixels, info=photo.info)
    assert read_image(out).shape == scene["masked"].shape
    _assert_kept(out, icc, gps=True)
    without = write_image(folder / f"nowhere{suffix}", photo.pixels, info=photo.info, strip_location=True)
    _assert_kept(without, icc, gps=False)


@pytest.mark.parametrize("icc_name, quality, subsampling, orientation", [("srgb", 92, 0, 6), ("p3", 70, 2, 1)])
def test_run_keeps_metadata_quality_and_colours(scene, icc_name, quality, subsampling, orientation):
    """`unmask run` on a camera JPEG: EXIF (orientation 1), XMP, the ICC profile byte for byte, the
    input's quality (within 5) and subsampling; `--strip-location` drops only the GPS block; in a
    colour-managed viewer the photo is unchanged outside the region (JPEG re-encoding aside)."""
    folder = scene["folder"] / f"run-{icc_name}"
    folder.mkdir()
    icc = srgb_profile() if icc_name == "srgb" else display_p3_profile()
    target = write_camera_photo(folder / "masked.jpg", scene["masked"], icc, quality, subsampling, orientation)
    assert read_image(target).shape == scene["masked"].shape
    _run(scene, target, folder / "out.jpg")
    _run(scene, target, folder / "nowhere.jpg", "--strip-location")
    _assert_kept(folder / "out.jpg", icc, gps=True)
    _assert_kept(folder / "nowhere.jpg", icc, gps=False)
    written_quality, written_sampling = _quality(folder / "out.jpg")
    assert abs(written_quality - quality) <= 5 and written_sampling == subsampling
    before, after = to_srgb(target).astype(int), to_srgb(folder / "out.jpg").astype(int)
    outside = _outside(scene["region"])
    assert np.abs(after - before)[outside].mean() < 1.0
    assert np.median(np.abs(after - before).max(axis=2)[scene["region"]]) > 20  # the mask is gone


def test_display_p3_photo_unchanged_outside_the_region(scene):
    """A Display P3 photo completed into a PNG (lossless): converted to sRGB with each file's
    embedded profile, every pixel outside the region is the same; the same pixels without the
    profile (what dropping it did) look different."""
    folder = scene["folder"] / "p3-png"
    folder.mkdir()
    target = write_camera_photo(folder / "masked.jpg", scene["masked"], display_p3_profile())
    _run(scene, target, folder / "out.png")
    before, after = to_srgb(target), to_srgb(folder / "out.png")
    outside = _outside(scene["region"])
    assert np.array_equal(after[outside], before[outside])
    bare = write_image(folder / "bare.png", read_image(folder / "out.png"))
    assert np.abs(to_srgb(bare).astype(int) - before.astype(int))[outside].mean() > 2


def test_heic_in_jpeg_and_heic_out(scene):
    """A HEIC photo (as an iPhone writes it) completed through the Python API and saved as JPEG
    and as HEIC: both upright, filled, and carrying its EXIF, XMP and profile."""
    from unmask import complete

    folder = scene["folder"] / "heic"
    folder.mkdir()
    icc = display_p3_profile()
    target = write_camera_photo(folder / "masked.heic", scene["masked"], icc, orientation=6)
    masked = read_image(target)
    assert masked.shape == scene["masked"].shape
    result = complete(target, scene["reference"], mask=scene["region"], tries=1)
    assert result.photo is not None and result.photo.format == "HEIF"
    assert result.record["photo_file"] == {"format": "HEIF", "exif": True, "xmp": True, "icc_profile": True,
                                           "jpeg_quality": None, "jpeg_subsampling": None}
    for name in ("out.jpg", "out.heic"):
        result.save(folder / name)
        out = read_image(folder / name)
        assert out.shape == masked.shape
        assert np.median(np.abs(out.astype(int) - masked.astype(int)).max(axis=2)[scene["region"]]) > 20
        assert np.abs(out.astype(int) - masked.astype(int))[_outside(scene["region"])].mean() < 2.0
        _assert_kept(folder / name, icc, gps=True)


def test_heic_without_pillow_heif_is_one_clear_line(scene, monkeypatch, capsys):
    folder = scene["folder"] / "no-heif"
    folder.mkdir()
    target = write_camera_photo(folder / "phone.heic", scene["masked"], srgb_profile())
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if it were not installed
    with pytest.raises(ImageError, match="pip install pillow-heif"):
        read_image(target)
    line = _error(["run", str(target), "-r", str(scene["reference"]), "-o", str(folder / "out.jpg")], capsys)
    assert "phone.heic" in line and "pip install pillow-heif" in line


def test_batch_keeps_metadata_and_strips_location(scene, tmp_path):
    """`unmask batch --strip-location` over a manifest of an sRGB and a Display P3 camera JPEG:
    each result keeps its date, camera, XMP, profile and quality, without the GPS block."""
    cases = {"srgb": (srgb_profile(), 92, 0), "p3": (display_p3_profile(), 70, 2)}
    with (tmp_path / "cases.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["target", "references", "mask"])
        writer.writeheader()
        for name, (icc, quality, subsampling) in cases.items():
            write_camera_photo(tmp_path / f"{name}.jpg", scene["masked"], icc, quality, subsampling)
            writer.writerow({"target": f"{name}.jpg", "references": str(scene["reference"]),
                             "mask": str(scene["mask"])})
    main(["batch", str(tmp_path / "cases.csv"), "-o", str(tmp_path / "out"), "--workers", "1", "--quiet",
          "--strip-location", "--option", "tries=1"])  # exits 1 when a target failed
    for name, (icc, quality, subsampling) in cases.items():
        out = tmp_path / "out" / f"{name}.jpg"
        _assert_kept(out, icc, gps=False)
        written_quality, written_sampling = _quality(out)
        assert abs(written_quality - quality) <= 5 and written_sampling == subsampling


def test_a_block_too_large_for_a_jpeg_is_left_out_with_a_warning(tmp_path):
    """A PNG's or HEIC's XMP may be larger than a JPEG segment holds: the JPEG is written without
    it (and says so), a PNG keeps it."""
    from unmask.photo_meta import PhotoInfo

    large = XMP.replace(b"unmask test", b"x" * 70_000)
    info = PhotoInfo(format="PNG", xmp=large, icc_profile=srgb_profile())
    pixels = np.full((32, 48, 3), 128, np.uint8)
    with pytest.warns(UserWarning, match="XMP .* does not fit a JPEG"):
        out = write_image(tmp_path / "out.jpg", pixels, info=info)
    assert read_photo(out).info.xmp is None and read_photo(out).info.icc_profile == info.icc_profile
    assert read_photo(write_image(tmp_path / "out.png", pixels, info=info)).info.xmp == large


def test_web_job_from_its_preview_keeps_what_the_photo_carries(scene):
    """The web page completes from the scene its region preview made of the upload: the written
    result still carries the upload's EXIF, XMP and ICC profile."""
    from unmask.web.jobs import preview_region, run_job

    folder = scene["folder"] / "web"
    folder.mkdir()
    icc = display_p3_profile()
    target = write_camera_photo(folder / "masked.jpg", scene["masked"], icc, 85, 2, 1)
    preview = preview_region(target)
    assert preview.scene is not None
    job = run_job(folder, target, [scene["reference"]], "warp", region=scene["region"], found=preview.scene,
                  tries=1)
    _assert_kept(job.result, icc, gps=True)
