"""The one place that turns napari layers into arrays and back.

Widgets never pick arrays or scales out of layers by hand; they call these functions. Each
submodule handles one layer type; everything is re-exported here.
"""

from .image import image_array, image_pixel_size, image_layer_kwargs, set_pixel_size

__all__ = ["image_array", "image_layer_kwargs", "image_pixel_size", "set_pixel_size"]
