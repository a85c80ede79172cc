"""The files of the hostile-input corpus (tests/test_hostile.py), all generated here: broken
and non-finite model files, decompression bombs, broken, animated, rotated, float and 16-bit
images, and the good files to pair them with."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sr_lab import models
from sr_lab.models.files import FORMAT_KEY


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bomb(path: Path) -> None:
    """A valid PNG header claiming 50000 x 50000 pixels (beyond Pillow's bomb guard)."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    body = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + png_chunk(b"IEND", b""))


def save_pt(path: Path, payload: object) -> None:
    with path.open("wb") as f:
        torch.save(payload, f)


def identity_vgg7() -> models.SRModel:
    """A 2x vgg7 whose output is its nearest-neighbour input exactly (each layer copies
    channels 0-2), so what the CLI writes can be checked pixel for pixel."""
    model = models.build("vgg7")
    with torch.no_grad():
        for conv in model.body:
            if isinstance(conv, torch.nn.Conv2d):
                conv.weight.zero_()
                conv.bias.zero_()
                for c in range(3):
                    conv.weight[c, c, 1, 1] = 1
    return model


def make_corpus(root: Path) -> Path:
    """Every hostile file of the corpus under ``root``, and a few good ones to pair them with."""
    rgb = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(root / "good.png")
    model = models.build("vgg7")
    models.save(model, root / "vgg7.pt")
    models.save(identity_vgg7(), root / "identity.pt")
    meta, state = {"arch": model.arch, "config": model.config}, model.state_dict()
    models.write_waifu2x_json(model, root / "scale2.0x_model.json")
    layers = json.loads((root / "scale2.0x_model.json").read_text())
    for name, (layer, key, value) in {
        "nan.json": (2, "bias", float("nan")),
        "inf.json": (6, "bias", float("inf")),
        "planes.json": (0, "nInputPlane", "three"),
    }.items():
        spoiled = json.loads(json.dumps(layers))
        spoiled[layer][key] = [value] * len(spoiled[layer]["bias"]) if key == "bias" else value
        (root / name).write_text(json.dumps(spoiled))
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "truncated.json").write_text(json.dumps(layers)[:500])
    (root / "object.json").write_text('{"weight": 1}')
    (root / "empty.json").write_text("")
    poisoned = {k: torch.full_like(v, float("nan")) for k, v in state.items()}
    save_pt(root / "nan.pt", {FORMAT_KEY: meta, "state_dict": poisoned})
    save_pt(root / "keys.pt", {FORMAT_KEY: {**meta, "config": {"colour": 1}}, "state_dict": state})
    save_pt(root / "meta.pt", {FORMAT_KEY: "vgg7", "state_dict": state})
    (root / "empty.pt").write_bytes(b"")
    (root / "noise.pt").write_bytes(np.random.default_rng(1).bytes(2048))
    (root / "noise.safetensors").write_bytes(b"\xff" * 64)
    (root / "nomodels").mkdir()
    write_bomb(root / "bomb.png")
    (root / "text.png").write_text("not an image")
    (root / "empty.png").write_bytes(b"")
    (root / "truncated.png").write_bytes((root / "good.png").read_bytes()[:60])
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(root / "anim.webp", save_all=True, append_images=frames[1:], lossless=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90 degrees: 12x10 stored, 10x12 shown
    Image.fromarray(rgb).save(root / "rotated.jpg", exif=exif.tobytes(), quality=95)
    Image.fromarray(np.full((10, 12), 0.8, np.float32), "F").save(root / "float.tif")
    Image.fromarray(np.full((10, 12), 40000, np.uint16)).save(root / "deep16.png")
    Image.new("RGB", (1, 1), (200, 10, 10)).save(root / "one.png")
    icc = bytes(16) + b"CMYK" + bytes(108)  # a CMYK profile on an RGB image
    Image.fromarray(rgb).save(root / "cmyk_icc.png", icc_profile=icc)
    (root / "mixed").mkdir()
    for name in ("good.png", "bomb.png", "text.png"):
        (root / "mixed" / name).write_bytes((root / name).read_bytes())
    (root / "eval").mkdir()
    Image.fromarray(np.tile(rgb, (5, 4, 1))).save(root / "eval" / "big.png")
    (root / "twins").mkdir()
    Image.fromarray(rgb).save(root / "twins" / "x.png")
    Image.fromarray(rgb).save(root / "twins" / "x.jpg")
    (root / "a_file").write_text("in the way")
    return root
