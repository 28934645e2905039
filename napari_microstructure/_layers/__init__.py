"""The one place that turns napari layers into arrays and back.

Widgets never pick arrays or scales out of layers by hand; they call these functions. Each
submodule handles one layer type; everything is re-exported here.
"""

from .classes import class_map_kwargs, show_class_map
from .curate import boxes_from_layer, boxes_layer_kwargs, labels_data, labels_layer_kwargs
from .explain import (
    class_box_colors,
    labels_quality,
    quality_labels_kwargs,
    show_image_overlay,
    show_overlay,
    style_boxes,
)
from .image import (
    image_array,
    image_layer_kwargs,
    layer_kwargs_like,
    layer_pixel_size,
    layer_role,
    placement_like,
    set_pixel_size,
    units_like,
)
from .labels import (
    color_by_values,
    instance_classes,
    labels_array,
    phase_names_of,
    select_label,
    set_grain_features,
)
from .shapes import detections_from_layer, detections_layer_kwargs, set_detections

__all__ = [
    "image_array",
    "image_layer_kwargs",
    "layer_kwargs_like",
    "layer_pixel_size",
    "layer_role",
    "placement_like",
    "set_pixel_size",
    "units_like",
]
__all__ += ["detections_from_layer", "detections_layer_kwargs", "set_detections"]
__all__ += [
    "class_box_colors",
    "labels_quality",
    "quality_labels_kwargs",
    "show_image_overlay",
    "show_overlay",
    "style_boxes",
]
__all__ += ["boxes_from_layer", "boxes_layer_kwargs", "labels_data", "labels_layer_kwargs"]
__all__ += ["class_map_kwargs", "show_class_map"]
__all__ += [
    "color_by_values",
    "instance_classes",
    "labels_array",
    "phase_names_of",
    "select_label",
    "set_grain_features",
]
from .segment import (  # noqa: E402
    new_scribbles_kwargs,
    scribbles_array,
    show_confidence,
    show_labels,
)

__all__ += [
    "new_scribbles_kwargs",
    "scribbles_array",
    "show_confidence",
    "show_labels",
]
from .labels_edit import label_at, objects_labels_kwargs, paint_object, undo_paint  # noqa: E402
from .points import add_prompt, clear_prompts, prompt_points_kwargs, prompts_from_layer  # noqa: E402

__all__ += ["add_prompt", "clear_prompts", "prompt_points_kwargs", "prompts_from_layer"]
__all__ += ["label_at", "objects_labels_kwargs", "paint_object", "undo_paint"]
from .output import own_layer, show_output  # noqa: E402
from .plane import displayed_plane, plane_index, yx_shape  # noqa: E402

__all__ += ["own_layer", "show_output", "displayed_plane", "plane_index", "yx_shape"]
