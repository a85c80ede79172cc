"""How a clean HR image becomes the LR training input: a downscale with a filter drawn from a
list, then optional JPEG noise. Every draw comes from the generator the caller passes, so a
pair is a pure function of (seed, epoch, sample)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from sr_lab.checks import number, whole

FILTERS = {
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,  # Catmull-Rom (a=-0.5), antialiased when reducing
    "lanczos": Image.Resampling.LANCZOS,
}
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@dataclass(frozen=True)
class JpegChain:
    """One way to JPEG-compress, drawn with probability ``p``: a first quality drawn from
    ``first`` (inclusive range), then one more compression per ``then`` entry at the first
    quality minus an amount drawn from that range (waifu2x's double/triple compression)."""

    p: float
    first: tuple[int, int]
    then: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        number("degradation.jpeg p", self.p, 0, 1)
        low, high = self.first
        if not 1 <= low <= high <= 100:
            raise ValueError(f"degradation.jpeg first must lie within 1..100, got {low}..{high}")
        for lo, hi in self.then:
            if not 0 <= lo <= hi or low - hi < 1:
                raise ValueError(
                    f"degradation.jpeg then {lo}..{hi}: steps must be ascending, >= 0, and leave "
                    f"a quality >= 1 after the first ({low}..{high})"
                )

    def qualities(self, rng: np.random.Generator) -> list[int]:
        q1 = int(rng.integers(self.first[0], self.first[1] + 1))
        return [q1] + [q1 - int(rng.integers(lo, hi + 1)) for lo, hi in self.then]


@dataclass(frozen=True)
class JpegNoise:
    """JPEG noise: a chain drawn by probability, and 4:2:0 chroma subsampling with
    probability ``subsampling_420`` (else 4:4:4)."""

    chains: tuple[JpegChain, ...]
    subsampling_420: float = 0.5

    def apply(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        probs = np.array([c.p for c in self.chains], dtype=np.float64)
        chain = self.chains[int(rng.choice(len(self.chains), p=probs / probs.sum()))]
        for quality in chain.qualities(rng):
            sub = SUBSAMPLING["4:2:0" if rng.random() < self.subsampling_420 else "4:4:4"]
            image = jpeg_roundtrip(image, quality, sub)
        return image


def jpeg_roundtrip(image: Image.Image, quality: int, subsampling: int) -> Image.Image:
    """Encode as JPEG at ``quality`` and decode again."""
    buffer = io.BytesIO()
    image.save(
        buffer,
        format="JPEG",
        quality=whole("JPEG quality", quality, 1, 100),
        subsampling=subsampling,
    )
    buffer.seek(0)
    decoded = Image.open(buffer)
    decoded.load()
    return decoded


@dataclass(frozen=True)
class Degradation:
    """Downscale by ``scale`` with a filter drawn uniformly from ``filters``, then, with
    probability ``nr_rate``, add JPEG ``noise``."""

    scale: int = 2
    filters: tuple[str, ...] = ("bicubic",)
    noise: JpegNoise | None = None
    nr_rate: float = 1.0
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        unknown = [f for f in self.filters if f not in FILTERS]
        if unknown or not self.filters:
            raise ValueError(
                f"degradation {self.name}: unknown filter(s) {unknown}; choose from "
                f"{', '.join(FILTERS)}"
            )
        if self.scale < 1:
            raise ValueError(f"degradation {self.name}: scale must be >= 1, got {self.scale}")
        if not 0.0 <= self.nr_rate <= 1.0:
            raise ValueError(f"degradation {self.name}: nr_rate must be in [0, 1]")

    def __call__(self, hr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(H, W, 3) uint8 HR (H, W multiples of ``scale``) to (H/scale, W/scale, 3) uint8 LR."""
        image = Image.fromarray(hr)
        if self.scale != 1:
            filt = FILTERS[self.filters[int(rng.integers(len(self.filters)))]]
            size = (image.width // self.scale, image.height // self.scale)
            image = image.resize(size, filt)
        if self.noise is not None and rng.random() < self.nr_rate:
            image = self.noise.apply(image, rng)
        return np.asarray(image)


def make_degradation(
    scale: int = 2,
    filters: Sequence[str] = ("bicubic",),
    jpeg: Sequence[dict] | None = None,
    subsampling_420: float = 0.5,
    nr_rate: float = 1.0,
    name: str = "custom",
) -> Degradation:
    """Build a Degradation from plain config values (what the YAML presets hold)."""
    noise = None
    if jpeg:
        chains = tuple(
            JpegChain(
                p=float(c.get("p", 1.0)),
                first=(int(c["first"][0]), int(c["first"][1])),
                then=tuple((int(lo), int(hi)) for lo, hi in c.get("then", ())),
            )
            for c in jpeg
        )
        noise = JpegNoise(chains, float(subsampling_420))
    return Degradation(int(scale), tuple(filters), noise, float(nr_rate), name)
