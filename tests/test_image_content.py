"""Unusual image content: EXIF rotation, animation, float and 32-bit modes, colour profiles,
degenerate sizes and decompression bombs, through open_image and the Python API."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sr_lab import models
from sr_lab.data.image import ImageError, matching_icc, open_image, save_image, to_8bit
from sr_lab.inference import upscale_image


def fake_icc(space: bytes) -> bytes:
    """The first bytes of an ICC profile: its colour space signature sits at bytes 16..20."""
    return bytes(16) + space + bytes(108)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.fromarray(np.arange(6 * 4 * 3, dtype=np.uint8).reshape(4, 6, 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    assert open_image(tmp_path / "rotated.jpg").size == (4, 6)


def test_animated_images_are_refused(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match=r"anim\.gif: animated \(2 frames\)"):
        open_image(tmp_path / "anim.gif")


def test_float_and_32_bit_images_scale_to_8_bits(tmp_path: Path) -> None:
    unit = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    Image.fromarray(unit, "F").save(tmp_path / "unit.tif")
    assert np.array_equal(np.asarray(open_image(tmp_path / "unit.tif")), np.round(unit * 255))
    wide = (np.arange(8, dtype=np.int64).reshape(2, 4) * (1 << 28)).astype(np.int32)
    assert np.asarray(to_8bit(Image.fromarray(wide, "I"))).max() == (7 << 28) >> 24
    sixteen = Image.fromarray(np.full((5, 6), 40000, np.uint16))
    model = models.build("vgg7").eval()
    out = upscale_image(model, sixteen)
    assert out.mode == "L" and out.size == (12, 10) and np.asarray(out).max() < 250


def test_icc_profiles_are_copied_only_when_they_fit(tmp_path: Path) -> None:
    assert matching_icc(fake_icc(b"RGB "), "RGBA") is not None
    assert matching_icc(fake_icc(b"CMYK"), "RGB") is None
    assert matching_icc(fake_icc(b"GRAY"), "L") is not None and matching_icc(b"short", "L") is None
    save_image(Image.new("RGB", (4, 4)), tmp_path / "cmyk.png", fake_icc(b"CMYK"))
    save_image(Image.new("RGB", (4, 4)), tmp_path / "rgb.png", fake_icc(b"RGB "))
    assert "icc_profile" not in Image.open(tmp_path / "cmyk.png").info
    assert Image.open(tmp_path / "rgb.png").info["icc_profile"] == fake_icc(b"RGB ")


def test_degenerate_sizes_and_bombs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the image is 0x5: nothing to upscale"):
        upscale_image(models.build("vgg7"), Image.new("RGB", (0, 5)))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
    (tmp_path / "bomb.png").write_bytes(bomb + chunk(b"IEND", b""))
    with pytest.raises(ImageError, match=r"bomb\.png: more than .* pixels .*SR_LAB_MAX_PIXELS"):
        open_image(tmp_path / "bomb.png")
