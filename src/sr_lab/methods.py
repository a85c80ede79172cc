"""An evaluated method, as evaluate and compare score it: a model run through the inference
engine, or a plain interpolation (``bicubic``, ``lanczos``, ``nearest``)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from sr_lab import models
from sr_lab.baseline import INTERPOLATIONS, interpolate_image
from sr_lab.inference import upscale_image
from sr_lab.models import ModelFileError, SRModel
from sr_lab.tiling import DEFAULT_OPTIONS, InferenceOptions


def label_of(path: Path) -> str:
    """A weights file's short name: its two folders and stem, or ``RUN/stem`` for a file under
    a training run's ``checkpoints/``; ``builtin`` for the shipped model."""
    if str(path) == models.BUILTIN:
        return models.BUILTIN
    folders = [path.parent.parent.name, path.parent.name]
    if folders[1] == "checkpoints":
        folders = folders[:1]
    return "/".join([*folders, path.stem])


class Upscaler:
    """``weights`` (a model file, or an interpolation's name) as a function LR -> SR image.

    ``arch`` checks that the file holds that architecture; ``scale`` that the model has it.
    """

    def __init__(
        self,
        weights: str,
        options: InferenceOptions = DEFAULT_OPTIONS,
        arch: str | None = None,
        scale: int | None = None,
    ) -> None:
        self.options, self.label = options, weights
        self.model: SRModel | None = None
        if weights not in INTERPOLATIONS:
            model = models.load(weights)
            if arch is not None and arch != model.arch:
                raise ModelFileError(weights, f"holds a {model.arch}, but model={arch}")
            if scale is not None and model.scale != scale:
                raise ModelFileError(weights, f"is a {model.scale}x model, but scale={scale}")
            self.model = options.prepare(model)
            self.label = label_of(Path(weights))

    @property
    def context(self) -> int:
        """Input pixels one output pixel depends on beyond its own (1 for interpolations)."""
        return self.model.context if self.model is not None else 1

    def __call__(self, lr: Image.Image, scale: int) -> Image.Image:
        if self.model is None:
            return interpolate_image(lr, scale, self.label)
        return upscale_image(self.model, lr, self.options)
