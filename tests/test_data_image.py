"""Image files and colour: every format and mode to 8-bit RGB, clear errors, BT.601 values."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lab.atomic import current_umask
from sr_lab.data.colour import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from sr_lab.data.datamodule import decode_shard
from sr_lab.data.image import ImageError, list_images, load_rgb, save_image
from sr_lab.data.sources import FolderSource

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (9, 11), dtype=np.uint8)


def png16_rgb(path: Path, array: np.ndarray) -> None:
    """Write a 16-bit RGB PNG by hand (PIL cannot write one)."""
    h, w, _ = array.shape
    raw = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".webp"])
def test_lossless_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"a{suffix}"
    Image.fromarray(RGB).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    rgb, alpha = load_rgb(path)
    assert rgb.dtype == np.uint8 and np.array_equal(rgb, RGB) and alpha is None


def test_jpeg_decodes_close(tmp_path: Path) -> None:
    Image.fromarray(RGB).save(tmp_path / "a.jpg", quality=100, subsampling=0)
    rgb, _ = load_rgb(tmp_path / "a.jpg")
    assert rgb.shape == RGB.shape and np.abs(rgb.astype(int) - RGB).mean() < 3


def test_modes(tmp_path: Path) -> None:
    Image.fromarray(np.dstack([RGB, ALPHA])).save(tmp_path / "rgba.png")
    rgb, alpha = load_rgb(tmp_path / "rgba.png")
    assert np.array_equal(rgb, RGB) and np.array_equal(alpha, ALPHA)
    Image.fromarray(RGB[..., 0]).save(tmp_path / "l.png")
    rgb, alpha = load_rgb(tmp_path / "l.png")
    assert np.array_equal(rgb, np.repeat(RGB[..., :1], 3, axis=2)) and alpha is None
    Image.fromarray(np.dstack([RGB[..., 0], ALPHA]), "LA").save(tmp_path / "la.png")
    assert np.array_equal(load_rgb(tmp_path / "la.png")[1], ALPHA)
    palette = Image.fromarray(RGB).quantize(16)
    palette.save(tmp_path / "p.png")
    assert np.array_equal(load_rgb(tmp_path / "p.png")[0], np.asarray(palette.convert("RGB")))


def test_16_bit_png_keeps_the_high_byte(tmp_path: Path) -> None:
    wide = RNG.integers(0, 65536, (9, 11, 3)).astype(np.uint16)
    png16_rgb(tmp_path / "rgb16.png", wide)
    assert np.array_equal(load_rgb(tmp_path / "rgb16.png")[0], (wide >> 8).astype(np.uint8))
    Image.fromarray(wide[..., 0]).save(tmp_path / "grey16.png")
    grey = load_rgb(tmp_path / "grey16.png")[0]
    assert np.array_equal(grey[..., 1], (wide[..., 0] >> 8).astype(np.uint8))


def test_save_image_is_atomic_8_bit(tmp_path: Path) -> None:
    save_image(Image.fromarray(RGB), tmp_path / "out.png")
    icc = bytes(16) + b"RGB " + bytes(108)  # an RGB profile's header (colour space at 16..20)
    save_image(Image.fromarray(RGB), tmp_path / "sub" / "out.webp", icc_profile=icc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "sub"]
    assert np.array_equal(load_rgb(tmp_path / "out.png")[0], RGB)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o666 & ~current_umask()
    webp = Image.open(tmp_path / "sub" / "out.webp")
    assert webp.format == "WEBP" and webp.info.get("icc_profile") == icc
    assert np.array_equal(np.asarray(webp.convert("RGB")), RGB)


def test_corrupt_truncated_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ImageError, match=r"bad\.png: not a readable image"):
        load_rgb(tmp_path / "bad.png")
    Image.fromarray(RGB).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: not a readable image"):
        load_rgb(tmp_path / "cut.png")
    with pytest.raises(ImageError, match=r"gone\.png: no such file"):
        load_rgb(tmp_path / "gone.png")


def test_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match=r"empty: no images"):
        list_images(tmp_path / "empty")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("hi")
    with pytest.raises(ImageError, match=r"text: no images"):
        list_images(tmp_path / "text")
    nested = tmp_path / "train" / "sub"
    nested.mkdir(parents=True)
    Image.fromarray(RGB).save(nested / "a.png")
    Image.fromarray(RGB).save(tmp_path / "train" / "b.png")
    (tmp_path / "train" / "c.png").write_bytes(b"broken")
    (tmp_path / "train" / "d.jpg").write_bytes(b"broken")
    with pytest.warns(
        UserWarning,
        match=r"train: skipped 2 unreadable train image\(s\), e.g. .*c\.png: not a readable",
    ):
        images = decode_shard(FolderSource(tmp_path / "train", tmp_path / "train"), "train", 0, 1)
    assert len(images) == 2
    with pytest.raises(ImageError, match="no such folder"):
        list_images(tmp_path / "missing")


def test_ycbcr_known_values() -> None:
    colours = torch.tensor([[1.0, 1, 1], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    ycbcr = rgb_to_ycbcr(colours.double().T[:, :, None]) * 255
    expected = torch.tensor(
        [
            [235, 128, 128],
            [16, 128, 128],
            [81.481, 90.203, 240],
            [144.553, 53.797, 34.214],
            [40.966, 240, 109.786],
        ],
        dtype=torch.float64,
    ).T[:, :, None]
    assert torch.allclose(ycbcr, expected, atol=1e-9)
    x = torch.rand(2, 3, 5, 4, dtype=torch.float64)
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-12)
    assert rgb_to_y(x).shape == (2, 1, 5, 4)
