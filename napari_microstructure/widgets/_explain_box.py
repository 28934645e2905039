"""Which class of the detector the Explain dock explains for one box, and the run that does it.

A box from Detect has its class: its own score is explained. A box drawn by hand has none
(empty ``class_name``; napari gives it ``class_id`` 0): explaining class 0 would explain
"inclusion" for a pore, so every class is explained and the one that scores highest at the
prediction matching the box is kept. A box of a class the model lacks (another model's
"carbide") is refused by name, and boxes found on another image are never explained on this one.
A map of a prediction the model did not make (score under the threshold, or no prediction
covering the box) is shown with a warning that says so.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .._layers.overlay import OVER_KEY
from ..core.progress import Progress, rescaled


def found_on(viewer: Any, boxes: Any) -> Any:
    """The image layer of ``viewer`` that the ``boxes`` were found on (Detect records it in
    their metadata, :data:`OVER_KEY`), or None: a Shapes layer of the user's own, or that
    image is no longer open."""
    uid = boxes.metadata.get(OVER_KEY)
    if uid is None:
        return None
    return next((lay for lay in viewer.layers if str(lay.unique_id) == str(uid)), None)


def unknown_class(names: dict[int, str], class_name: str) -> str | None:
    """Why a box of ``class_name`` cannot be explained with a model of class ``names``, or None
    (a box without a class, a model without class names, or one of the model's classes)."""
    if not class_name or not names or class_name in names.values():
        return None
    known = ", ".join(str(names[k]) for k in sorted(names))
    return f"the box's class '{class_name}' is not one of the model's classes ({known})"


def classes_to_explain(names: dict[int, str], class_id: int, class_name: str) -> list[int]:
    """The model's class ids to explain for a box of ``class_name`` / ``class_id``: its own
    (by name where the model has that name, else the id), or all of them for a box without a
    class (its ``class_id`` for a model without class names)."""
    if not class_name and names:
        return sorted(int(k) for k in names)
    by_name = [int(k) for k, v in names.items() if v == class_name]
    return by_name[:1] or [int(class_id)]


def explain_box(
    image: Any,
    detector: Any,
    box: tuple[float, float, float, float],
    class_id: int,
    class_name: str,
    pixel_size: float | None,
    method: str,
    confidence: float | None = None,
) -> Generator[Progress, None, tuple[Any, str, bool]]:
    """Per-object map of ``box`` (``core.explain.object_saliency``) for its class, or for the
    class that scores highest in it when it has none; returns (result, the model's name of the
    class explained, whether that class was chosen by its score). ``confidence``, a detected
    box's, picks the detection tile whose prediction made the box."""
    from ..core.explain import object_saliency

    names = dict(getattr(detector, "names", None) or {})
    why = unknown_class(names, class_name)
    if why is not None:
        raise ValueError(why)
    classes = classes_to_explain(names, class_id, class_name)
    found = []
    for i, k in enumerate(classes):
        run = object_saliency(image, detector, box, k, pixel_size, method, confidence=confidence)
        note = f"class {names.get(k, k)} ({i + 1}/{len(classes)})" if len(classes) > 1 else None
        found.append(((yield from rescaled(run, i, i + 1, len(classes), note)), k))
    result, k = max(found, key=lambda item: item[0].score)  # the first of equal scores
    return result, str(names.get(k) or class_name or f"class {k}"), len(classes) > 1


#: below this IoU the prediction explained is not the box (``DetectionTarget``'s minimum)
MIN_IOU = 0.5
#: a detected box's score is its confidence only to within this (fused vs unfused network)
SCORE_SLACK = 0.005


def unmade_prediction(score: float, iou: float, threshold: float) -> str | None:
    """Why a box's map explains a prediction the model did not make (its score under the
    confidence ``threshold``, or its box overlapping the box by IoU under :data:`MIN_IOU`), or
    None. Such a map is still scaled to its own maximum, so it looks as bright as any other:
    its hot spots are not evidence for the box."""
    low, off = not score >= threshold - SCORE_SLACK, not iou >= MIN_IOU
    if not (low or off):
        return None
    why = " and ".join(
        w
        for w, bad in (
            (f"scores {score:.3g}, under the confidence threshold {threshold:.2f}", low),
            (f"covers the box by IoU {iou:.2f}, under {MIN_IOU}", off),
        )
        if bad
    )
    return (
        f"the model did not predict this box: the closest prediction {why}. The map explains "
        "that prediction, scaled to its own maximum like every map, so its hot spots are not "
        "evidence of an object in the box."
    )
