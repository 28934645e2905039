"""Class-specific gradient maps of a detector: per object, or for all confident predictions.

The ``grad-cam`` package does the hooks and the channel weighting; here it is given (a) the
wrapped network that returns the head output tensor, (b) a target that picks, in that output,
the prediction behind one detection (the anchor whose box matches it best, with that class's
score), and (c) a subclass that returns raw per-layer maps so tiles can be blended before the
map is scaled to [0, 1].

Per object the default is LayerCAM, the element-wise variant of Grad-CAM: plain Grad-CAM
averages the gradient over the whole feature map, so its map lights up every object that looks
like the explained one, not that object (on the synthetic defects it pointed into the right box
for 3 of 9 pores, LayerCAM and HiResCAM for 9 of 9).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM

from ..progress import Progress
from .geometry import Canvas, normalize01, pad_to_stride, resample, resize_map, scale_factor
from .model import ExplainModel, box_iou, to_fast_input, to_input, xywh_to_xyxy
from .tiles import Tile, detection_tiles, image_tiles, object_tile


class _RawLayers:
    """Mixin: keep each target layer's non-negative map at feature resolution, unscaled."""

    def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):  # noqa: ANN001
        acts = [a.cpu().numpy() for a in self.activations_and_grads.activations]
        grads = [g.cpu().numpy() for g in self.activations_and_grads.gradients]
        return [
            np.maximum(self.get_cam_image(input_tensor, layer, targets, a, g, eigen_smooth), 0)
            for layer, a, g in zip(self.target_layers, acts, grads, strict=True)
        ]

    def aggregate_multi_layers(self, cam_per_target_layer):  # noqa: ANN001
        return cam_per_target_layer


METHODS = {
    "gradcam": type("RawGradCAM", (_RawLayers, GradCAM), {}),
    "hirescam": type("RawHiResCAM", (_RawLayers, HiResCAM), {}),
    "gradcam++": type("RawGradCAMPlusPlus", (_RawLayers, GradCAMPlusPlus), {}),
    "layercam": type("RawLayerCAM", (_RawLayers, LayerCAM), {}),
}


class DetectionTarget:
    """Score of class ``class_id`` at the prediction that best matches ``box`` (input pixels).

    Among predictions overlapping the box by IoU >= ``min_iou`` the one with the highest class
    score is the detection that survived non-maximum suppression; without any, the best
    IoU x score. The chosen anchor and its score are kept for the caller.
    """

    def __init__(self, box_xyxy: tuple[float, ...], class_id: int, min_iou: float = 0.5) -> None:
        self.box = torch.tensor(box_xyxy, dtype=torch.float32)
        self.class_id = int(class_id)
        self.min_iou = min_iou
        self.anchor: int | None = None
        self.score = float("nan")
        self.iou = float("nan")

    def choose(self, output: torch.Tensor) -> int:
        """Index of the anchor explained in a ``(4 + nc, N)`` head output."""
        with torch.no_grad():
            boxes = xywh_to_xyxy(output[:4].T.detach())
            scores = output[4 + self.class_id].detach()
            iou = box_iou(boxes, self.box)
            ok = iou >= self.min_iou
            rank = (
                torch.where(ok, scores, torch.full_like(scores, -1.0))
                if ok.any()
                else iou * scores
            )
            anchor = int(torch.argmax(rank))
            self.iou = float(iou[anchor])
        return anchor

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        if self.anchor is None:
            self.anchor = self.choose(output)
        value = output[4 + self.class_id, self.anchor]
        self.score = float(value.detach())
        return value


class ConfidentTarget:
    """Sum of the best class score of every raw prediction above ``conf``, before non-maximum
    suppression (an object many anchors fire on weighs more); zero where there is none (a tile
    without detections explains nothing, rather than its weakest guesses)."""

    def __init__(self, conf: float = 0.25, max_det: int = 300) -> None:
        self.conf = conf
        self.max_det = max_det

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        best = output[4:].max(dim=0).values
        keep = best.detach() >= self.conf
        if int(keep.sum()) == 0:
            return (best * 0.0).sum()
        return best[keep].topk(min(self.max_det, int(keep.sum()))).values.sum()


def _layer_maps_batch(
    model: ExplainModel, tiles: list[Tile], crops: list[np.ndarray], targets: list, method: str
) -> list[list[np.ndarray]]:
    """Raw maps of each target layer per tile, resized onto each tile's original pixel grid.

    Tiles of one call must give inputs of the same shape; the network runs them as one batch
    (exact: every tile's map depends only on its own output and gradients).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    x = torch.cat(
        [to_input(pad_to_stride(resample(c, t.factor))) for t, c in zip(tiles, crops, strict=True)]
    )
    cam = METHODS[method](model=model.net, target_layers=model.layers)
    try:  # not ``with``: grad-cam's __exit__ swallows IndexError
        raw = cam(input_tensor=x, targets=targets)
    finally:
        cam.activations_and_grads.release()
    out = []
    for b, tile in enumerate(tiles):
        mh, mw = tile.model_shape
        maps = []
        for layer_map, stride in zip(raw, model.strides, strict=True):
            m = layer_map[b]
            up = resize_map(m, (m.shape[0] * stride, m.shape[1] * stride))[:mh, :mw]
            maps.append(resize_map(up, tile.window.shape))
        out.append(maps)
    return out


def _layer_maps(
    model: ExplainModel, tile: Tile, crop: np.ndarray, target: object, method: str
) -> list[np.ndarray]:
    """Raw maps of each target layer for one tile."""
    return _layer_maps_batch(model, [tile], [crop], [target], method)[0]


def _combine(maps: list[np.ndarray]) -> np.ndarray:
    return normalize01(np.mean([normalize01(m) for m in maps], axis=0))


@dataclass
class ObjectSaliency:
    """Per-object map (image size, scaled to [0, 1] on its own: brightness is not comparable
    between objects) and the prediction it explains."""

    saliency: np.ndarray
    score: float
    iou: float
    window: tuple[int, int, int, int]


def _tile_of_detection(
    image: np.ndarray,
    model: ExplainModel,
    box_xyxy: tuple[float, float, float, float],
    class_id: int,
    factor: float,
    confidence: float | None,
) -> Tile:
    """The tile whose prediction made the box: of the detection tiles that hold it whole, the
    one whose matching prediction (as :class:`DetectionTarget` picks it, IoU >= its minimum)
    scores closest to ``confidence``; :func:`.tiles.object_tile` without a confidence or
    without such a prediction.

    Detection keeps one tile's box where tiles overlap, not always the one that holds the box
    farthest from its edges, and another tile can see another class there.
    """
    fallback = object_tile(box_xyxy, image.shape[:2], model.imgsz, factor)
    if confidence is None or not np.isfinite(confidence):
        return fallback
    tiles = detection_tiles(box_xyxy, image.shape[:2], model.imgsz, factor)
    if len(tiles) < 2:
        return fallback
    net = model.forward_only()[0]
    best, gap = fallback, float("inf")
    for tile in tiles:  # forward passes without gradients: cheap next to the one backward
        crop = resample(image[tile.y0 : tile.y1, tile.x0 : tile.x1], tile.factor)
        with torch.no_grad():
            out = net(to_fast_input(pad_to_stride(crop)))[0]
        target = DetectionTarget(tile.to_model(box_xyxy), class_id)
        anchor = target.choose(out)
        if not target.iou >= target.min_iou:
            continue
        off = abs(float(out[4 + target.class_id, anchor]) - float(confidence))
        if off < gap:
            best, gap = tile, off
    return best


def object_cam(
    image: np.ndarray,
    model: ExplainModel,
    box_xyxy: tuple[float, float, float, float],
    class_id: int,
    pixel_size: float | None = None,
    method: str = "layercam",
    confidence: float | None = None,
) -> Generator[Progress, None, ObjectSaliency]:
    """Gradient map (LayerCAM by default) of one detection's class score, at image size.

    The network sees one model-input-sized tile (resampled as detection does): the detection
    tile whose prediction matches the box with the score closest to ``confidence`` (the box's
    detection confidence) when it is given, else the one holding the box farthest from its
    edges (see :func:`_tile_of_detection`); outside that tile the map is 0. ``box_xyxy`` is in
    original pixel coordinates.
    """
    yield Progress(0, 2, "Grad-CAM: forward and backward pass")
    factor = scale_factor(pixel_size, model.pixel_size)
    tile = _tile_of_detection(image, model, box_xyxy, class_id, factor, confidence)
    target = DetectionTarget(tile.to_model(box_xyxy), class_id)
    crop = image[tile.y0 : tile.y1, tile.x0 : tile.x1]
    maps = _layer_maps(model, tile, crop, target, method)
    full = np.zeros(image.shape[:2], np.float32)
    full[tile.y0 : tile.y1, tile.x0 : tile.x1] = _combine(maps)
    yield Progress(2, 2, "Grad-CAM: done")
    return ObjectSaliency(full, target.score, target.iou, (tile.x0, tile.y0, tile.x1, tile.y1))


def image_gradcam(
    image: np.ndarray,
    model: ExplainModel,
    pixel_size: float | None = None,
    conf: float = 0.25,
    method: str = "gradcam",
    overlap: float = 0.2,
    batch: int = 4,
) -> Generator[Progress, None, np.ndarray]:
    """Gradient map of all confident raw predictions (before NMS) of the whole image, tiles
    blended."""
    factor = scale_factor(pixel_size, model.pixel_size)
    tiles = image_tiles(image.shape[:2], model.imgsz, factor, overlap)
    canvases = [Canvas(image.shape[:2], tiles[0].ramp) for _ in model.layers]
    done = 0
    while done < len(tiles):
        group = [tiles[done]]  # consecutive tiles with the same input shape, up to ``batch``
        while (
            len(group) < batch
            and done + len(group) < len(tiles)
            and tiles[done + len(group)].model_shape == group[0].model_shape
        ):
            group.append(tiles[done + len(group)])
        crops = [image[t.y0 : t.y1, t.x0 : t.x1] for t in group]
        targets = [ConfidentTarget(conf) for _ in group]
        for tile, maps in zip(
            group, _layer_maps_batch(model, group, crops, targets, method), strict=True
        ):
            for canvas, m in zip(canvases, maps, strict=True):
                canvas.add(tile.window, m)
        done += len(group)
        yield Progress(done, len(tiles), f"Grad-CAM: tile {done}/{len(tiles)}")
    return _combine([c.result() for c in canvases])
