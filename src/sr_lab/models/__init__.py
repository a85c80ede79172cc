"""sr_lab networks: one contract (scale, offset, context, channels), built by name or loaded
from any supported weights file."""

from sr_lab.models.base import SRModel
from sr_lab.models.dcscn import DCSCN
from sr_lab.models.espcn import ESPCN7
from sr_lab.models.files import BUILTIN, builtin_path, load, save
from sr_lab.models.registry import build, names
from sr_lab.models.waifu2x import Upconv7, Vgg7
from sr_lab.models.waifu2x_json import ModelFileError, read_waifu2x_json, write_waifu2x_json

__all__ = [
    "BUILTIN",
    "DCSCN",
    "ESPCN7",
    "ModelFileError",
    "SRModel",
    "Upconv7",
    "Vgg7",
    "build",
    "builtin_path",
    "load",
    "names",
    "read_waifu2x_json",
    "save",
    "write_waifu2x_json",
]
