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

import cv2
import numpy as np

from ..image_utils import is_rgb, to_float01
from ..synthetic.tessellation import distance_to_boundary
from .augment import IGNORE
from .data import Pair, image_channels, make_pair, n_classes_in

if TYPE_CHECKING:
    from ..curate import Project

#: Pixel sizes within this relative difference count as the same (no resampling).
SAME_PIXEL_SIZE = 0.01


@dataclass
class ProjectTraining:
    """What a project gives a training: pairs, class names and the common pixel size."""

    pairs: list[Pair]
    classes: list[str]
    pixel_size: float | None  # µm/px the pairs were brought to (None: no image has one)


def boundary_mask(instances: np.ndarray) -> np.ndarray:
    """Boundary training mask of instance labels: 1 on the lines, 0 inside labelled objects,
    :data:`IGNORE` on unlabelled pixels off the lines (the synthetic masks' line width)."""
    inst = np.asarray(instances)
    line = distance_to_boundary(inst) <= 1.0
    out = np.where(line, 1, 0).astype(np.uint8)
    out[(inst == 0) & ~line] = IGNORE
    return out


def _resize_nearest(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels resampled to ``shape`` by nearest neighbour (any integer dtype)."""
    h, w = labels.shape[:2]
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(int), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(int), w - 1)
    return labels[rows[:, None], cols[None, :]]


def _resize_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if tuple(image.shape[:2]) == tuple(shape):
        return image
    area = shape[0] * shape[1] < image.shape[0] * image.shape[1]
    method = cv2.INTER_AREA if area else cv2.INTER_LINEAR
    out = cv2.resize(to_float01(image), (shape[1], shape[0]), None, 0, 0, method)
    return np.clip(out, 0.0, 1.0)


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
    known = [float(s) for s in sizes.values() if s]
    target = float(np.median(known)) if known else None
    raw = []
    for image_id, labels in found:
        try:
            image = project.read_image(image_id)
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read image {image_id!r} of the project: {exc}") from exc
        if image.ndim == 3 and not is_rgb(image):
            image = image[0]
        ps = sizes[image_id]
        if ps and target and abs(ps / target - 1) > SAME_PIXEL_SIZE:
            h, w = image.shape[:2]
            shape = (max(1, round(h * ps / target)), max(1, round(w * ps / target)))
            image, labels = _resize_image(image, shape), _resize_nearest(labels, shape)
        mask = boundary_mask(labels) if task == "boundaries" else labels
        raw.append((image, mask, str(project.image_path(image_id))))
    in_ch = 3 if any(is_rgb(r[0]) for r in raw) else 1
    if task == "boundaries":  # the mask holds its classes already (IGNORE off the objects)
        pairs = [Pair(image_channels(img, in_ch), mask, name) for img, mask, name in raw]
        return ProjectTraining(pairs, ["interior", "boundary"], target)
    pairs = [make_pair(img, mask, task, in_ch, name) for img, mask, name in raw]
    names = list(project.phase_names)
    names += [f"class {k}" for k in range(len(names), n_classes_in(pairs))]
    return ProjectTraining(pairs, names, target)
