"""Curation: an annotation project on disk, label exports, active-learning ranking, retraining.

Modules: ``project`` (the store), ``export`` (YOLO / COCO / TIFF), ``active`` (uncertainty
ranking by a detector), ``active_seg`` (by a segmentation model's pixel uncertainty), ``train``
(fine-tuning with progress and cancel).
"""

from .project import ImageLabels, Project, ProjectError

__all__ = ["ImageLabels", "Project", "ProjectError"]
