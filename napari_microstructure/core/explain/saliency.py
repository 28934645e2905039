"""Entry points: saliency and score maps of a detector on an image, cached.

Every function takes a ``core.detect`` Detector (or an :class:`ExplainModel`), works on the
image as detection does (resampled to the model's pixel size, tiled) and returns maps at the
ORIGINAL image size. Results are cached per image content, model weights and parameters, in
memory up to :data:`.cache.MEMORY_LIMIT` bytes per cache; a per-object map is kept as its tile
window only (it is 0 elsewhere) and made whole again when it is asked for.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..detect.infer import detection_uint8
from ..progress import Progress
from .cache import CACHE, MEMORY_LIMIT, BoundedLRU, result_key
from .confidence import ScoreMaps, score_maps
from .eigencam import eigencam
from .gradcam import METHODS, ObjectSaliency, image_gradcam, object_cam
from .model import ExplainModel, explain_model

WHOLE_IMAGE_METHODS = ("eigencam", *METHODS)


def as_explain_model(detector: Any) -> ExplainModel:
    """An :class:`ExplainModel` from a Detector, a torch detection model or itself."""
    return detector if isinstance(detector, ExplainModel) else explain_model(detector)


def _check_image(image: Any) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"expected a 2-D grey or RGB image, got shape {arr.shape}")
    if min(arr.shape[:2]) < 8:
        raise ValueError(f"image too small to explain: {arr.shape[:2]}")
    # the uint8 image detection feeds its tiles: the same global range, NaN as mid grey
    return detection_uint8(arr)


def _plain(box: tuple[float, ...]) -> str:
    """A box as plain numbers, ``(300, 300, 330.5, 330)``, whatever their numpy type."""
    return "(" + ", ".join(f"{float(v):g}" for v in box) + ")"


def saliency_map(
    image: Any,
    detector: Any,
    method: str = "eigencam",
    pixel_size: float | None = None,
    conf: float = 0.25,
    use_cache: bool = True,
) -> Generator[Progress, None, np.ndarray]:
    """Whole-image saliency, float32 in [0, 1] at the image size.

    ``method`` "eigencam" (gradient-free, class-agnostic) or a gradient method ("gradcam",
    "hirescam", "gradcam++", "layercam") explaining the sum of all detections above ``conf``.
    """
    if method not in WHOLE_IMAGE_METHODS:
        raise ValueError(
            f"unknown method {method!r}; choose from {', '.join(WHOLE_IMAGE_METHODS)}"
        )
    img = _check_image(image)
    model = as_explain_model(detector)
    params: dict[str, Any] = {
        "method": method,
        "pixel_size": pixel_size,
        "imgsz": model.imgsz,
        "version": 3,  # bump when an algorithm changes, so old disk entries are not reused
    }
    if method != "eigencam":
        params["conf"] = conf
    key = result_key(img, model.key, **params)
    if use_cache and (hit := CACHE.get(key)) is not None:
        yield Progress(1, 1, "saliency from cache")
        return hit
    if method == "eigencam":
        result = yield from eigencam(img, model, pixel_size)
    else:
        result = yield from image_gradcam(img, model, pixel_size, conf=conf, method=method)
    result = result.astype(np.float32)
    if use_cache:
        CACHE.put(key, result)
    return result


@dataclass(frozen=True)
class _KeptObject:
    """An :class:`ObjectSaliency` as the cache keeps it: the map inside its tile window only
    (``object_cam`` leaves it 0 outside), and the image's height and width."""

    crop: np.ndarray
    shape: tuple[int, int]
    score: float
    iou: float
    window: tuple[int, int, int, int]

    @classmethod
    def of(cls, res: ObjectSaliency) -> _KeptObject:
        x0, y0, x1, y1 = res.window
        crop = res.saliency[y0:y1, x0:x1].copy()  # a copy: the caller's map is theirs
        return cls(crop, res.saliency.shape[:2], res.score, res.iou, res.window)

    def whole(self) -> ObjectSaliency:
        """The map at image size again, equal to the one computed (a new array each time)."""
        x0, y0, x1, y1 = self.window
        full = np.zeros(self.shape, self.crop.dtype)
        full[y0:y1, x0:x1] = self.crop
        return ObjectSaliency(full, self.score, self.iou, self.window)


_OBJECTS: BoundedLRU[_KeptObject] = BoundedLRU(256, MEMORY_LIMIT, lambda k: k.crop.nbytes)


def object_saliency(
    image: Any,
    detector: Any,
    box_xyxy: tuple[float, float, float, float],
    class_id: int,
    pixel_size: float | None = None,
    method: str = "layercam",
    use_cache: bool = True,
    confidence: float | None = None,
) -> Generator[Progress, None, ObjectSaliency]:
    """Class-specific gradient map of one detection (box in original pixel coordinates).

    ``confidence``, the box's detection confidence when known, picks the detection tile whose
    prediction made the box (see :func:`.gradcam.object_cam`), so the score explained is the
    box's confidence; without it, the tile that holds the box farthest from its edges.
    """
    img = _check_image(image)
    model = as_explain_model(detector)
    if int(class_id) not in model.names:
        raise ValueError(f"class id {class_id} is not one of the model's classes {model.names}")
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"empty box {_plain(box_xyxy)}")
    h, w = img.shape[:2]
    if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
        raise ValueError(f"the box {_plain(box_xyxy)} lies outside the image ({h} x {w} px)")
    box = (x1, y1, x2, y2)
    conf = None if confidence is None or not np.isfinite(confidence) else float(confidence)
    key = result_key(
        img,
        model.key,
        box=tuple(round(v, 2) for v in box),
        cls=int(class_id),
        method=method,
        pixel_size=pixel_size,
        imgsz=model.imgsz,
        confidence=None if conf is None else round(conf, 4),
    )
    if use_cache and (hit := _OBJECTS.get(key)) is not None:
        yield Progress(1, 1, "object map from cache")
        return hit.whole()
    result = yield from object_cam(img, model, box, int(class_id), pixel_size, method, conf)
    if use_cache:
        _OBJECTS.put(key, _KeptObject.of(result))
    return result


def class_score_maps(
    image: Any, detector: Any, pixel_size: float | None = None, use_cache: bool = True
) -> Generator[Progress, None, ScoreMaps]:
    """Best and runner-up class score at every pixel, from the raw head output (cached)."""
    img = _check_image(image)
    model = as_explain_model(detector)
    key = result_key(img, model.key, what="scores", pixel_size=pixel_size, imgsz=model.imgsz)
    if use_cache and (hit := CACHE.get(key)) is not None:
        yield Progress(1, 1, "score maps from cache")
        return ScoreMaps(hit[0], hit[1])
    maps = yield from score_maps(img, model, pixel_size)
    if use_cache:
        CACHE.put(key, np.stack([maps.best, maps.second]).astype(np.float32))
    return maps
