"""napari-microstructure: turn micrographs into numbers you can trust, inside napari."""

from ._triton_guard import hide_triton
from .core.yolo_env import configure_offline

hide_triton()
configure_offline()

__version__ = "0.1.0"
