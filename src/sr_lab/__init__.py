"""sr_lab: waifu2x-family super-resolution experiments."""

import os
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sr_lab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "unknown"

# Intel MKL picks GEMM kernels by matrix size, so a convolution over a tile and over the whole
# image could sum in different orders; strict conditional numerical reproducibility fixes the
# order (tiled inference is then bit-identical on CPU). MKL reads this at its first call, so it
# must be set before any matrix product runs; users may set their own value.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
