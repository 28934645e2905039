"""Automatic segmentation of every grain of a micrograph."""

from __future__ import annotations

from ..image_utils import boundaries_from_labels
from .classical import GrainSegmentation, segment_from_boundaries
from .segment_all import no_grains_warning, segment_all_grains, without_one_region_size

__all__ = [
    "GrainSegmentation",
    "boundaries_from_labels",
    "no_grains_warning",
    "segment_all_grains",
    "segment_from_boundaries",
    "without_one_region_size",
]
