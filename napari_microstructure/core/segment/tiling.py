"""Network input preparation and prediction of any image size by overlapping, blended tiles."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import torch
import torch.nn.functional as F

from ..progress import Progress
from .data import image_channels
from .unet import UNet, prefer_channels_last


def prepare_input(image: np.ndarray, in_channels: int) -> np.ndarray:
    """``(C, H, W)`` float32 network input: grey or RGB as the network expects, standardised.

    The whole image is standardised (zero mean, unit variance over all pixels and channels) so a
    tile sees the same numbers as the full image and brightness/contrast changes matter less.
    """
    arr = image_channels(np.asarray(image), in_channels)
    std = float(arr.std())
    return (arr - float(arr.mean())) / (std if std > 1e-6 else 1.0)


def _window(size: int, ramp: int) -> np.ndarray:
    """1-D blending weight: linear ramps at both ends, never zero (image borders keep weight)."""
    x = np.arange(size, dtype=np.float32) + 0.5
    if ramp <= 0:
        return np.ones(size, np.float32)
    return np.clip(np.minimum(x, size - x) / ramp, 1e-3, 1.0)


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _pad_to(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    ph, pw = h - x.shape[-2], w - x.shape[-1]
    if ph <= 0 and pw <= 0:
        return x
    mode = "reflect" if ph < x.shape[-2] and pw < x.shape[-1] else "replicate"
    return F.pad(x, (0, max(pw, 0), 0, max(ph, 0)), mode=mode)


#: Test-time views ``(left-right flip, quarter turns)``: all 8 flips and rotations.
TTA_ALL = tuple((flip, k) for k in range(4) for flip in (False, True))
#: The 4 views that keep the tile's shape: as is, flipped left-right, up-down, half turn.
TTA_FLIPS = ((False, 0), (True, 0), (False, 2), (True, 2))

Views = bool | tuple[tuple[bool, int], ...]


def _logits(net: UNet, x: torch.Tensor) -> torch.Tensor:
    if prefer_channels_last(x.device):
        x = x.contiguous(memory_format=torch.channels_last)
    return net(x)


def _forward(net: UNet, batch: torch.Tensor, tta: Views) -> torch.Tensor:
    """Softmax probabilities of a batch; with ``tta`` averaged over views (True: all 8)."""
    if not tta:
        return torch.softmax(_logits(net, batch), dim=1)
    views = TTA_ALL if tta is True else tta
    total = torch.zeros(
        (batch.shape[0], net.n_classes, *batch.shape[-2:]), dtype=batch.dtype, device=batch.device
    )
    for flip, k in views:
        x = torch.flip(batch, dims=(-1,)) if flip else batch
        x = torch.rot90(x, k, dims=(-2, -1))
        p = torch.softmax(_logits(net, x), dim=1)
        p = torch.rot90(p, -k, dims=(-2, -1))
        total += torch.flip(p, dims=(-1,)) if flip else p
    return total / len(views)


def predict_tiles(
    net: UNet,
    arr: np.ndarray,
    tile: int = 256,
    overlap: int = 64,
    tta: Views = False,
    batch_size: int = 4,
) -> Generator[Progress, None, np.ndarray]:
    """Class probabilities ``(n_classes, H, W)`` of a prepared input ``(C, H, W)``.

    Tiles of ``tile`` pixels overlap by ``overlap`` and are blended with linear ramps, so seams
    do not show; ``tile=0`` predicts the whole (padded) image at once. ``tta``: True averages
    all 8 flips and rotations, or give the views (:data:`TTA_FLIPS`, say).
    """
    m = net.multiple
    c, h, w = arr.shape
    device = next(net.parameters()).device  # tiles go to the network's device, results back
    x = torch.from_numpy(np.ascontiguousarray(arr))[None]
    net = net.for_inference()
    if tile <= 0 or (h <= tile and w <= tile):
        hp, wp = -(-h // m) * m, -(-w // m) * m
        yield Progress(0, 1, "predicting")
        with torch.inference_mode():
            probs = _forward(net, _pad_to(x, hp, wp).to(device), tta)[0, :, :h, :w]
        yield Progress(1, 1, "predicted")
        return probs.cpu().numpy()
    tile = max(m, tile // m * m)
    overlap = min(max(0, overlap // m * m), tile - m)
    th, tw = min(tile, -(-h // m) * m), min(tile, -(-w // m) * m)
    x = _pad_to(x, max(h, th), max(w, tw))
    hh, ww = x.shape[-2:]
    step_h, step_w = max(m, th - overlap), max(m, tw - overlap)
    boxes = [(r, q) for r in _starts(hh, th, step_h) for q in _starts(ww, tw, step_w)]
    weight = torch.from_numpy(np.outer(_window(th, overlap), _window(tw, overlap)))
    acc = torch.zeros((net.n_classes, hh, ww))
    norm = torch.zeros((hh, ww))
    for i in range(0, len(boxes), batch_size):
        chunk = boxes[i : i + batch_size]
        batch = torch.cat([x[..., r : r + th, q : q + tw] for r, q in chunk])
        with torch.inference_mode():
            probs = _forward(net, batch.to(device), tta).cpu()
        for (r, q), p in zip(chunk, probs, strict=True):
            acc[:, r : r + th, q : q + tw] += p * weight
            norm[r : r + th, q : q + tw] += weight
        done = min(i + batch_size, len(boxes))
        yield Progress(done, len(boxes), f"predicted tile {done}/{len(boxes)}")
    return (acc / norm)[:, :h, :w].numpy()


def resize_chw(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a ``(C, H, W)`` float array (bilinear, anti-aliased when shrinking)."""
    if tuple(arr.shape[-2:]) == tuple(shape):
        return arr
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None]
    shrink = shape[0] < arr.shape[-2] or shape[1] < arr.shape[-1]
    out = F.interpolate(t, size=shape, mode="bilinear", align_corners=False, antialias=shrink)
    return out[0].numpy()
