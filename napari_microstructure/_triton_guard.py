"""Keep triton out of the process.

torch imports triton lazily (torchvision.ops does, through torch._dynamo) when it is installed.
Loading triton's bundled LLVM after napari has created its OpenGL context on Mesa's software
renderer (llvmpipe, which links its own LLVM) crashes the process with a segmentation fault.
The plugin never compiles kernels (no ``torch.compile``), so triton is hidden from torch unless
``NAPARI_MICROSTRUCTURE_ALLOW_TRITON=1`` is set or triton is already imported.
"""

from __future__ import annotations

import os
import sys


def hide_triton() -> bool:
    """Make ``import triton`` fail with ImportError; True when it was hidden."""
    if os.environ.get("NAPARI_MICROSTRUCTURE_ALLOW_TRITON") == "1" or "triton" in sys.modules:
        return False
    sys.modules["triton"] = None  # type: ignore[assignment]
    return True
