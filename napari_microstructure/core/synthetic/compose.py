"""Shared last steps of every kind: artefacts, conversion to uint8, default truth layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .artefacts import ArtefactPlan, apply_artefacts, plan_artefacts
from .micrograph import SyntheticMicrograph, objects_from_instances


def artefact_plan(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    chances: dict[str, float],
    **switches: bool | None,
) -> ArtefactPlan:
    """Plan artefacts; ``switches`` are the kind's illumination/noise/blur/dust/scale_bar args."""
    return plan_artefacts(rng, shape, pixel_size, chances, switches)


def finish(
    rng: np.random.Generator,
    image: np.ndarray,
    plan: ArtefactPlan,
    pixel_size: float,
    grains: np.ndarray | None = None,
    boundaries: np.ndarray | None = None,
    phases: np.ndarray | None = None,
    phase_names: list[str] | None = None,
    defects: np.ndarray | None = None,
    classes: dict[int, str] | None = None,
    extra_truth: dict[str, Any] | None = None,
) -> SyntheticMicrograph:
    """Apply the artefacts to a float rendering and pack the result with its ground truth.

    Missing layers get their neutral value: one grain, no boundary, all matrix, no objects.
    Object ids come out as 1..K, in the order of ``defects``' ids.
    """
    shape = image.shape[:2]
    img = apply_artefacts(np.clip(image, 0.0, 1.0), plan, rng)
    img8 = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    grains = np.ones(shape, np.uint32) if grains is None else grains.astype(np.uint32)
    boundaries = np.zeros(shape, bool) if boundaries is None else boundaries.astype(bool)
    phases = np.zeros(shape, np.uint8) if phases is None else phases.astype(np.uint8)
    names = ["matrix"] if phase_names is None else list(phase_names)
    defects = np.zeros(shape, np.uint32) if defects is None else defects.astype(np.uint32)
    objects = objects_from_instances(defects, classes or {})
    ids = [o["id"] for o in objects]
    if ids != list(range(1, len(ids) + 1)):  # an object painted over: keep ids 1..K
        lut = np.zeros(int(defects.max()) + 1, np.uint32)
        lut[ids] = np.arange(1, len(ids) + 1, dtype=np.uint32)
        defects = lut[defects]
        for new_id, o in enumerate(objects, start=1):
            o["id"] = new_id
    truth: dict[str, Any] = dict(extra_truth or {})
    truth["artefacts"] = {
        "illumination": round(plan.illumination, 4),
        "noise": round(plan.noise, 4),
        "blur": round(plan.blur, 3),
        "dust": plan.dust,
        "scale_bar_um": plan.bar_um if plan.scale_bar is not None else None,
        "scale_bar_box_yxyx": list(plan.scale_bar) if plan.scale_bar is not None else None,
    }
    return SyntheticMicrograph(
        image=img8,
        pixel_size=float(pixel_size),
        grains=grains,
        boundaries=boundaries,
        phases=phases,
        phase_names=names,
        defects=defects,
        objects=objects,
        truth=truth,
    )
