"""Image data: file I/O and colour, degradation, patch datasets, sources and the datamodule."""

from sr_lab.data.datamodule import SRDataModule
from sr_lab.data.degradation import Degradation, make_degradation
from sr_lab.data.image import ImageError
from sr_lab.data.sources import FolderSource, SyntheticSource

__all__ = [
    "Degradation",
    "FolderSource",
    "ImageError",
    "SRDataModule",
    "SyntheticSource",
    "make_degradation",
]
