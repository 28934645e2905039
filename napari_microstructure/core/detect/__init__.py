"""Object detection (inclusions, pores, cracks, precipitates, ...) with ultralytics YOLO models.

Scale-aware (the image is resampled to the model's training pixel size) and tiled (images of
any size, read tile by tile). ``load_detector`` never reaches for the network.
"""

from .infer import (
    COLUMNS,
    detect,
    empty_detections,
    resolve_classes,
    scale_factor,
    searched_names,
)
from .model import (
    DEMO_MODEL,
    MODEL_INFO_KEY,
    Detector,
    file_identity,
    load_detector,
    read_model_info,
    sidecar_path,
    write_model_info,
)
from .summary import box_sizes, class_summary
from .tiling import merge_tile_boxes, tile_grid
from .yolo_files import write_yolo_dataset, write_yolo_txt, yolo_lines

__all__ = [
    "COLUMNS",
    "DEMO_MODEL",
    "MODEL_INFO_KEY",
    "Detector",
    "box_sizes",
    "class_summary",
    "detect",
    "empty_detections",
    "file_identity",
    "load_detector",
    "merge_tile_boxes",
    "read_model_info",
    "resolve_classes",
    "searched_names",
    "scale_factor",
    "sidecar_path",
    "tile_grid",
    "write_model_info",
    "write_yolo_dataset",
    "write_yolo_txt",
    "yolo_lines",
]
