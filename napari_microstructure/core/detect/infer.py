"""Scale-aware, tiled detection: the image is read tile by tile at the model's pixel size.

Tiles are cut from the original array (a numpy array, memmap or anything sliceable) and
resampled one at a time, so memory stays bounded by a few tiles whatever the image size.
Boxes come back in the original image's pixel coordinates.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..image_utils import intensity_range
from ..notes import unscaled_note
from ..progress import Progress
from .model import Detector
from .tiling import Tile, merge_tile_boxes, seen_whole_elsewhere, tile_grid, touches_inner_edge

log = logging.getLogger(__name__)

COLUMNS = ["x1", "y1", "x2", "y2", "confidence", "class_id", "class_name"]
PAD_VALUE = 114  # the grey ultralytics pads with in training and letterboxing
SCALE_TOLERANCE = 0.02  # resampling by less than 2 % is not worth the blur


def empty_detections() -> pd.DataFrame:
    """A detections table with no rows and the contract's columns."""
    return pd.DataFrame(
        {
            "x1": pd.Series(dtype=float),
            "y1": pd.Series(dtype=float),
            "x2": pd.Series(dtype=float),
            "y2": pd.Series(dtype=float),
            "confidence": pd.Series(dtype=float),
            "class_id": pd.Series(dtype=int),
            "class_name": pd.Series(dtype=object),
        }
    )


def resolve_classes(
    classes: Sequence[int | str] | None, names: dict[int, str]
) -> list[int] | None:
    """Class ids from ids or names; unknown ones raise ``ValueError`` listing the known names."""
    if classes is None:
        return None
    by_name = {v.lower(): k for k, v in names.items()}
    out = []
    for c in classes:
        if isinstance(c, str) and not c.strip().lstrip("-").isdigit():
            if c.lower() not in by_name:
                known = ", ".join(names.values())
                raise ValueError(f"unknown class {c!r}; the model knows {known}")
            out.append(by_name[c.lower()])
        else:
            if int(c) not in names:
                raise ValueError(f"unknown class id {c}; the model has ids 0..{len(names) - 1}")
            out.append(int(c))
    return out


def searched_names(classes: Sequence[int | str] | None, names: dict[int, str]) -> list[str]:
    """Names of the classes a detection searches for: ``classes`` (ids or names), else all."""
    kept = resolve_classes(classes, names)
    return list(names.values()) if kept is None else [names[i] for i in kept]


def _intensity_range(image: Any) -> tuple[float, float] | None:
    """Global (lo, hi) grey levels mapped to 0..255 (:func:`..image_utils.intensity_range` of a
    strided sample: the image may be a memory map); None for uint8."""
    if np.dtype(image.dtype) == np.uint8:
        return None
    step = max(1, int(max(image.shape[:2]) // 1024))
    return intensity_range(np.asarray(image[::step, ::step]))


def _to_u8(crop: np.ndarray, rng: tuple[float, float] | None) -> np.ndarray:
    if rng is None:
        return crop if crop.ndim == 2 else crop[..., :3]
    lo, hi = rng
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    crop = crop if crop.ndim == 2 else crop[..., :3]
    # missing data (NaN) as mid grey, whatever the data's offset: never a dark or bright object
    mid = 0.5 * (lo + hi)
    crop = np.nan_to_num(crop.astype(np.float32), nan=mid, posinf=hi, neginf=lo)
    out = np.clip((crop - lo) * scale + 0.5, 0, 255)
    return out.astype(np.uint8)


def detection_uint8(image: Any) -> np.ndarray:
    """A whole image as detection feeds its tiles: uint8 grey or RGB (alpha dropped), scaled by
    :func:`_intensity_range` with NaN as mid grey (:func:`_to_u8`). Explain uses it too, so its
    maps are of the pixels detection saw."""
    arr = np.asarray(image)
    return _to_u8(arr, _intensity_range(arr))


def _read_tile(
    image: Any, tile: Tile, factor: float, rng: tuple[float, float] | None, limit: int
) -> np.ndarray:
    """Tile pixels as uint8 RGB at the model's pixel size (grey is resampled before RGB)."""
    crop = _to_u8(np.asarray(image[tile.y0 : tile.y1, tile.x0 : tile.x1]), rng)
    if factor != 1.0:
        import cv2

        h, w = crop.shape[:2]
        # a full tile must come out at most the model input, whatever the rounding
        size = (min(limit, max(1, round(w * factor))), min(limit, max(1, round(h * factor))))
        interp = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
        crop = cv2.resize(np.ascontiguousarray(crop), size, interpolation=interp)
    return np.repeat(crop[..., None], 3, axis=-1) if crop.ndim == 2 else crop


def scale_factor(pixel_size: float | None, model_pixel_size: float | None) -> tuple[float, str]:
    """Resampling factor image -> model pixels, and a note for the user when it cannot be known."""
    if model_pixel_size is None:
        return 1.0, "the model does not record its training pixel size: image used as is"
    if pixel_size is None or pixel_size <= 0:
        return 1.0, unscaled_note(model_pixel_size, "set the pixel size for scale-aware detection")
    factor = float(pixel_size) / float(model_pixel_size)
    if abs(factor - 1.0) < SCALE_TOLERANCE:
        return 1.0, ""
    return factor, ""


def _run_batch(
    model: Any,
    crops: list[np.ndarray],
    stride: int,
    conf: float,
    iou: float,
    max_det: int,
    agnostic: bool,
    classes: list[int] | None,
    end2end: bool,
) -> list[np.ndarray]:
    import torch
    from ultralytics.utils.nms import non_max_suppression

    hh = max(c.shape[0] for c in crops)
    ww = max(c.shape[1] for c in crops)
    hh, ww = -(-hh // stride) * stride, -(-ww // stride) * stride
    batch = np.full((len(crops), hh, ww, 3), PAD_VALUE, dtype=np.uint8)
    for i, c in enumerate(crops):
        batch[i, : c.shape[0], : c.shape[1]] = c
    with torch.inference_mode():
        # NHWC memory seen as NCHW is channels-last, the layout the fused model uses
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)
        preds = model(x)
        out = non_max_suppression(
            preds, conf, iou, classes, agnostic, max_det=max_det, end2end=end2end
        )
    return [o.numpy() for o in out]


def detect(
    image: Any,
    detector: Detector,
    pixel_size: float | None = None,
    conf: float = 0.25,
    iou: float = 0.5,
    max_det: int = 300,
    agnostic: bool = False,
    classes: Sequence[int | str] | None = None,
    overlap: int | None = None,
    batch: int = 4,
) -> Generator[Progress, None, pd.DataFrame]:
    """Detect objects; yields :class:`Progress` per tile batch, returns the detections table.

    Parameters
    ----------
    image : (H, W) grey or (H, W, 3|4) RGB array (numpy, memmap or any sliceable array).
    detector : from :func:`load_detector`.
    pixel_size : µm/px of ``image``; with the model's pixel size the image is resampled to it.
    conf, iou, max_det, agnostic, classes : ultralytics NMS settings (``classes`` ids or names).
    overlap : tile overlap in model pixels (default a quarter of the model input).

    Returns
    -------
    DataFrame with x1, y1, x2, y2 (original pixel coords, x = column), confidence, class_id,
    class_name; ``df.attrs`` holds ``scale_factor``, ``n_tiles`` and a ``note`` for the user.
    """
    if not 0.0 <= conf <= 1.0 or not 0.0 <= iou <= 1.0:
        raise ValueError("confidence and IoU thresholds must lie between 0 and 1")
    if int(max_det) < 1:
        raise ValueError("max detections must be at least 1")
    ndim = len(image.shape)
    if ndim not in (2, 3) or (ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(f"expected a 2-D grey or RGB image, got shape {tuple(image.shape)}")
    class_ids = resolve_classes(classes, detector.names)
    factor, note = scale_factor(pixel_size, detector.pixel_size)
    if note:
        log.warning("detect: %s", note)
    imgsz = detector.imgsz
    ov = imgsz // 4 if overlap is None else int(overlap)
    if not 0 <= ov < imgsz:
        raise ValueError(f"tile overlap must be between 0 and {imgsz - 1} model pixels")
    tiles = tile_grid(image.shape[:2], round(imgsz / factor), round(ov / factor))
    n = len(tiles)
    yield Progress(0, n, note or f"detecting in {n} tile{'s' * (n > 1)}")
    model = detector.inference_model()
    rng = _intensity_range(image)
    margin = 2.0 / factor
    all_b, all_s, all_c, all_cut, all_owner = [], [], [], [], []
    full_tiles = 0  # tiles whose boxes reached max_det: some objects there may be missing
    for start in range(0, n, max(1, int(batch))):
        group = tiles[start : start + max(1, int(batch))]
        crops = [_read_tile(image, t, factor, rng, imgsz) for t in group]
        outs = _run_batch(
            model,
            crops,
            detector.stride,
            conf,
            iou,
            int(max_det),
            agnostic,
            class_ids,
            detector.end2end,
        )
        for k, (t, crop, out) in enumerate(zip(group, crops, outs, strict=True), start):
            full_tiles += len(out) >= int(max_det)
            if len(out) == 0:
                continue
            b = out[:, :4].astype(np.float64)
            b[:, [0, 2]] = b[:, [0, 2]] * ((t.x1 - t.x0) / crop.shape[1]) + t.x0
            b[:, [1, 3]] = b[:, [1, 3]] * ((t.y1 - t.y0) / crop.shape[0]) + t.y0
            all_b.append(b)
            all_s.append(out[:, 4])
            all_c.append(out[:, 5].astype(np.int64))
            all_cut.append(touches_inner_edge(b, t, margin) if n > 1 else np.zeros(len(b), bool))
            all_owner.append(np.full(len(b), k))
        done = min(start + len(group), n)
        yield Progress(done, n, f"tile {done}/{n}")
    if not all_b:
        df = empty_detections()
    else:
        b, s, c = np.concatenate(all_b), np.concatenate(all_s), np.concatenate(all_c)
        if n > 1:
            cut = np.concatenate(all_cut)
            # a piece cut at a seam inside a tile that saw its whole area is no object of its own
            drop = cut.copy()
            drop[cut] = seen_whole_elsewhere(b[cut], np.concatenate(all_owner)[cut], tiles, margin)
            b, s, c, cut = b[~drop], s[~drop], c[~drop], cut[~drop]
            b, s, c = merge_tile_boxes(b, s, c, cut, iou, agnostic, gap=margin)
        if len(b) > int(max_det) or full_tiles:
            found = f"{len(b)}" + (" or more" if full_tiles else "")
            cut_note = (
                f"kept the best {min(len(b), int(max_det))} of {found} detections (max "
                "detections reached); raise max detections (--max-det) to count them all"
            )
            note = f"{note}; {cut_note}" if note else cut_note
        b, s, c = b[: int(max_det)], s[: int(max_det)], c[: int(max_det)]
        h, w = image.shape[:2]
        b = np.clip(np.asarray(b, dtype=np.float64), 0, [w, h, w, h])
        df = pd.DataFrame(
            {
                "x1": b[:, 0],
                "y1": b[:, 1],
                "x2": b[:, 2],
                "y2": b[:, 3],
                "confidence": np.asarray(s, dtype=float),
                "class_id": np.asarray(c, dtype=int),
            }
        )
        df["class_name"] = [detector.names.get(int(i), str(i)) for i in df["class_id"]]
    df.attrs.update(
        {
            "scale_factor": factor,
            "n_tiles": n,
            "note": note,
            "model_pixel_size_um": detector.pixel_size,
            "pixel_size_um": pixel_size,
        }
    )
    return df
