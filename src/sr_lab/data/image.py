"""Image files and tensors: decoding any common format to 8-bit RGB(+alpha), saving 8-bit PNG,
and float conversions with waifu2x's rounding."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from sr_lab.atomic import atomic_write

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


class ImageError(ValueError):
    """An image file or folder that cannot be used; the message names the path."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


# Pillow refuses images above this many pixels (decompression bombs); SR_LAB_MAX_PIXELS raises
# or lowers the limit for every sr_lab command.
Image.MAX_IMAGE_PIXELS = int(os.environ.get("SR_LAB_MAX_PIXELS", Image.MAX_IMAGE_PIXELS))


def _reduce(image: Image.Image, array: np.ndarray) -> Image.Image:
    reduced = Image.fromarray(np.clip(array, 0, 255).round().astype(np.uint8), "L")
    reduced.info = {**image.info, "sr_lab_deep": True}
    return reduced


def to_8bit(image: Image.Image) -> Image.Image:
    """8-bit L/LA/RGB/RGBA from any PIL mode: 16-bit keeps its high byte (32-bit integers are
    scaled by the widest of 8, 16 or 32 bits their values need), float images in 0..1 are
    scaled to 0..255 (else clipped to it), P expands its palette."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image).astype(np.int64)
        top = array.max(initial=0)
        bits = 0 if image.mode == "I" and top <= 255 else 8 if top <= 65535 else 24
        return _reduce(image, array >> bits)
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        return _reduce(image, array * 255 if np.nanmax(array, initial=0) <= 1 else array)
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "PA":
        return image.convert("RGBA")
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    return image.convert("RGB")


def open_image(path: str | Path) -> Image.Image:
    """Decode an image file fully (so truncation is caught here) into an 8-bit mode."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(path, "no such file")
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > 1:  # PNG and WebP outputs hold one frame; timing would be lost
                raise ImageError(path, f"animated ({frames} frames): give its frames one by one")
            image.load()
            return to_8bit(ImageOps.exif_transpose(image))  # as browsers and waifu2x show it
    except Image.DecompressionBombError:
        limit = Image.MAX_IMAGE_PIXELS
        raise ImageError(
            path, f"more than {limit:,} pixels (Pillow's bomb limit; SR_LAB_MAX_PIXELS raises it)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ImageError):
            raise
        raise ImageError(path, f"not a readable image ({err})") from None


def load_rgb(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 3) uint8 RGB and, where the file has one, its (H, W) uint8 alpha."""
    image = open_image(path)
    alpha = np.asarray(image.getchannel("A")) if image.mode in ("LA", "RGBA") else None
    return np.asarray(image.convert("RGB")), alpha


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted); an error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(folder, "no such folder")
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise ImageError(folder, f"no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return files


def matching_icc(icc_profile: bytes | None, mode: str) -> bytes | None:
    """``icc_profile`` if it describes the colour space of an image in ``mode`` (RGB for
    RGB/RGBA, grey for L/LA), else None: a CMYK profile must not tag an RGB file."""
    if not icc_profile or len(icc_profile) < 20:
        return None
    wanted = b"GRAY" if mode in ("L", "LA") else b"RGB "
    return icc_profile if icc_profile[16:20] == wanted else None


def save_image(image: Image.Image, path: str | Path, icc_profile: bytes | None = None) -> None:
    """Write an 8-bit PNG (or lossless WebP, by suffix) atomically: a temporary file, then a
    rename, so an interrupted write never leaves a truncated image. Parent folders are made."""
    path = Path(path)
    fmt = "WEBP" if path.suffix.lower() == ".webp" else "PNG"
    options = {"lossless": True} if fmt == "WEBP" else {}
    image = to_8bit(image)
    icc_profile = matching_icc(icc_profile, image.mode)
    if icc_profile:
        options["icc_profile"] = icc_profile
    with atomic_write(path) as f:
        image.save(f, format=fmt, **options)


def image_bytes(image: Image.Image | np.ndarray) -> torch.Tensor:
    """(C, H, W) uint8 from an 8-bit PIL image or (H, W[, C]) uint8 array (an (H, W, C) view)."""
    array = np.array(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)


def pil_to_tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1] from an 8-bit PIL image or (H, W[, C]) uint8 array."""
    return image_bytes(image).float().div_(255)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and round to uint8 as waifu2x's encoder does (halves round down a hair
    where the float precision can tell)."""
    shifted = x + (0.5 - 0.5e-7) / 255
    return shifted.clamp_(0, 1).mul_(255).floor_().to(torch.uint8)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """A PIL image (L, RGB or RGBA by channel count) from a (C, H, W) float tensor in [0, 1]."""
    return bytes_to_pil(quantize(x.detach().float().cpu()))


def bytes_to_pil(x: torch.Tensor) -> Image.Image:
    """A PIL image (L, RGB or RGBA by channel count) from a (C, H, W) uint8 tensor (copied once
    when its memory is already (H, W, C), as the inference engine writes it)."""
    array = np.ascontiguousarray(x.cpu().permute(1, 2, 0).numpy())
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    return Image.fromarray(array[:, :, 0] if mode == "L" else array, mode)
