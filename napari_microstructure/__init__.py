"""napari-microstructure: turn micrographs into numbers you can trust, inside napari."""

from .core.yolo_env import configure_offline

configure_offline()

__version__ = "0.1.0"
