"""Curation: an annotation project on disk, label exports, active-learning ranking, retraining.

Modules: ``project`` (the store; ``labels``, ``manifest``, ``provenance`` and ``models`` hold
its parts), ``export`` (YOLO / COCO / TIFF; ``items``, ``polygons``, ``yolo``, ``coco``),
``active`` (uncertainty ranking by a detector; ``sources`` lists and reads the images),
``active_seg`` (by a segmentation model's pixel uncertainty), ``train`` (fine-tuning with
progress and cancel).
"""

from .project import ImageLabels, Project, ProjectError, StaleProjectError

__all__ = ["ImageLabels", "Project", "ProjectError", "StaleProjectError"]
