"""Training pairs from an annotation project (:class:`core.curate.Project`).

Only images marked *done* teach the network, as for the detector's retraining: proposals the
expert has not checked yet must not. Phases come from the images' phase labels (class index per
pixel, 0 = the first phase name, 255 = not annotated); grain boundaries from their instance
labels (grains, particles): a line about 3 pixels wide along every border between two labels
or between a label and unlabelled pixels, which are otherwise not annotated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..image_utils import first_plane, is_rgb
from ..synthetic.tessellation import distance_to_boundary
from .augment import IGNORE
from .data import (
    Pair,
    class_names,
    common_pixel_size,
    image_channels,
    make_pair,
    n_classes_in,
    to_pixel_size,
)

if TYPE_CHECKING:
    from ..curate import Project


@dataclass
class ProjectTraining:
    """What a project gives a training: pairs (at a common pixel size) and class names."""

    pairs: list[Pair]
    classes: list[str]


def boundary_mask(instances: np.ndarray) -> np.ndarray:
    """Boundary training mask of instance labels: 1 on the lines, 0 inside labelled objects,
    :data:`IGNORE` on unlabelled pixels off the lines (the synthetic masks' line width)."""
    inst = np.asarray(instances)
    line = distance_to_boundary(inst) <= 1.0
    out = np.where(line, 1, 0).astype(np.uint8)
    out[(inst == 0) & ~line] = IGNORE
    return out


def project_training_data(project: Project | str | Path, task: str) -> ProjectTraining:
    """Training pairs of ``task`` ("phases" or "boundaries") from a project or its folder.

    Images with differing pixel sizes are resampled to the median of the known ones (masks by
    nearest neighbour; boundary lines are drawn after resampling, so their width stays the
    same); images without a pixel size are used as they are.

    Raises
    ------
    ValueError : no project there, or no image marked done carries labels for ``task``.
    """
    from ..curate import Project

    if not isinstance(project, Project):
        project = Project.open(project)
    role = "phases" if task == "phases" else "instances"
    found = []
    done = [i for i in project.image_ids if project.image_record(i).get("done")]
    for image_id in done:
        labels = getattr(project.load_labels(image_id), role)
        if labels is not None and (role == "phases" or labels.any()):
            found.append((image_id, labels))
    if not found:
        kind = "phase labels" if role == "phases" else "grain or particle labels"
        raise ValueError(
            f"no image of the project {project.root} is marked done with {kind} "
            f"({len(project.image_ids)} images, {len(done)} marked done); mark the images you "
            "have corrected as done in the Curate dock"
        )
    sizes = {i: project.image_record(i).get("pixel_size") for i, _ in found}
    target = common_pixel_size(list(sizes.values()))
    raw = []
    for image_id, labels in found:
        try:
            image = first_plane(project.read_image(image_id))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read image {image_id!r} of the project: {exc}") from exc
        ps = sizes[image_id]
        image, labels = to_pixel_size(image, labels, ps, target)
        mask = boundary_mask(labels) if task == "boundaries" else labels
        raw.append((image, mask, str(project.image_path(image_id)), target if ps else None))
    in_ch = 3 if any(is_rgb(r[0]) for r in raw) else 1
    if task == "boundaries":  # the mask holds its classes already (IGNORE off the objects)
        pairs = [Pair(image_channels(img, in_ch), mask, name, ps) for img, mask, name, ps in raw]
        return ProjectTraining(pairs, ["interior", "boundary"])
    pairs = [make_pair(img, mask, task, in_ch, name, ps) for img, mask, name, ps in raw]
    return ProjectTraining(pairs, class_names(project.phase_names, n_classes_in(pairs)))
