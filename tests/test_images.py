"""unmask.images: every kind of photo a user has reads as upright RGB uint8; bad files are refused
with a clear error naming the file; writing is atomic and never over an input."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from unmask.errors import ImageError
from unmask.images import read_image, to_tensor, to_uint8, write_image, write_text


def _gradient(h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), np.full_like(xx, 90)], -1).astype(np.uint8)


@pytest.mark.parametrize("suffix,options,tolerance", [(".png", {}, 0), (".jpg", {"quality": 98}, 12),
                                                       (".webp", {"lossless": True}, 0), (".bmp", {}, 0)])
def test_colour_formats(tmp_path, suffix, options, tolerance):
    rgb = _gradient()
    Image.fromarray(rgb).save(tmp_path / f"a{suffix}", **options)
    out = read_image(tmp_path / f"a{suffix}")
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).max() <= tolerance


def test_grayscale(tmp_path):
    gray = _gradient()[:, :, 0]
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (48, 64, 3) and np.array_equal(out[:, :, 1], gray) and np.array_equal(out[:, :, 0], gray)


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:5, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    out = read_image(tmp_path / "t.png")
    assert out.shape == (10, 10, 3)
    assert np.all(out[:5] == (200, 0, 0)) and np.all(out[5:] == (255, 255, 255))


def test_16_bit_png(tmp_path):
    data = (np.arange(64, dtype=np.uint16)[None, :].repeat(8, 0) * 1040)  # 0 .. 65520
    Image.frombytes("I;16", (64, 8), data.astype("<u2").tobytes()).save(tmp_path / "deep.png")
    out = read_image(tmp_path / "deep.png")
    assert out.shape == (8, 64, 3)
    np.testing.assert_allclose(out[0, :, 0], np.round(data[0] / 65535 * 255), atol=1)


def test_cmyk_jpeg(tmp_path):
    rgb = _gradient()
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.jpg", quality=98)
    out = read_image(tmp_path / "print.jpg")
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 6


def test_exif_rotated_phone_photo(tmp_path):
    rgb = _gradient(40, 60)
    rgb[:10, :10] = (255, 0, 0)  # a red corner at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(rgb).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=98)
    out = read_image(tmp_path / "phone.jpg")
    assert out.shape == (60, 40, 3)  # upright: portrait
    assert out[2, -3, 0] > 200 and out[2, -3, 1] < 60  # the red corner is now at the top-right


def test_palette_png(tmp_path):
    Image.fromarray(_gradient()).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (48, 64, 3)


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.jpg", b"", "file is empty"),
        ("text.png", b"hello, not an image\n" * 10, "not an image file"),
        ("header_only.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not an image file"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        read_image(tmp_path / name)
    assert name in str(info.value)


def test_truncated_and_corrupt(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(_gradient(200, 200)).save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="corrupt or truncated") as info:
        read_image(tmp_path / "cut.jpg")
    assert "cut.jpg" in str(info.value)
    broken = bytearray(data)
    broken[len(data) // 2 : len(data) // 2 + 400] = b"\xff" * 400
    (tmp_path / "broken.jpg").write_bytes(bytes(broken[: len(data) * 2 // 3]))
    with pytest.raises(ImageError, match="broken.jpg"):
        read_image(tmp_path / "broken.jpg")


def test_missing_and_folder(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        read_image(tmp_path / "absent.jpg")
    with pytest.raises(ImageError, match="is a folder"):
        read_image(tmp_path)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    Image.new("L", (11000, 10000)).save(tmp_path / "bomb.png")  # 110 MP, a few hundred kB
    with pytest.raises(ImageError, match="megapixel limit|too large") as info:
        read_image(tmp_path / "bomb.png")
    assert "bomb.png" in str(info.value)
    Image.new("L", (400, 300)).save(tmp_path / "big.png")
    with pytest.raises(ImageError, match="megapixel limit"):
        read_image(tmp_path / "big.png", max_pixels=10_000)


def test_write_is_atomic_and_protects_inputs(tmp_path):
    rgb = _gradient()
    src = tmp_path / "in.png"
    write_image(src, rgb)
    before = src.read_bytes()
    with pytest.raises(ImageError, match="refusing to overwrite an input file"):
        write_image(tmp_path / "." / "in.png", np.zeros_like(rgb), protect=[src])
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]  # no temporary left behind
    with pytest.raises(ImageError, match="unknown image format"):
        write_image(tmp_path / "x.xyz", rgb)
    write_text(tmp_path / "r.json", "{}\n", protect=[src])
    assert (tmp_path / "r.json").read_text() == "{}\n"
    assert np.array_equal(read_image(src), rgb)


def test_tensor_roundtrip():
    rgb = _gradient()
    tensor = to_tensor(rgb)
    assert tuple(tensor.shape) == (1, 3, 48, 64) and float(tensor.min()) >= -1 and float(tensor.max()) <= 1
    assert np.array_equal(to_uint8(tensor)[0], rgb)


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = write_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.uint8))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_bytes_read_elsewhere_decode_like_the_file(tmp_path):
    from unmask.images import encode_image, read_image_bytes

    rgb = _gradient(40, 60)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=98)
    data = (tmp_path / "phone.jpg").read_bytes()
    assert np.array_equal(read_image_bytes(data, "album/phone.jpg"), read_image(tmp_path / "phone.jpg"))
    for content, message in ((b"", "file is empty"), (b"hello" * 20, "not an image file"),
                             (data[: len(data) // 3], "corrupt or truncated")):
        with pytest.raises(ImageError, match=message) as info:
            read_image_bytes(content, "album/p01/phone.jpg")
        assert str(info.value).startswith("album/p01/phone.jpg: ")
    for suffix in (".png", ".jpg"):
        written = write_image(tmp_path / f"out{suffix}", rgb)
        assert encode_image(rgb, f"x{suffix}") == written.read_bytes()
