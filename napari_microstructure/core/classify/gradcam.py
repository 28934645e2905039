"""Grad-CAM of the classifier over a whole micrograph: where the evidence for a class lies.

Grad-CAM (Selvaraju et al. 2017) weights the last convolutional feature maps by the mean
gradient of the class score. The image is tiled with overlapping crops as for the class map;
the raw (un-normalised) maps of all tiles are blended and normalised once over the image, so
tiles stay comparable with each other.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import torch
import torch.nn.functional as F

from ..progress import Progress
from .crops import cut, effective_pixel_size, grid_windows, prepare_image
from .model import Classifier
from .predict import _window_weight, resolve_pixel_size, window_side

_CHUNK = 64


def _cam_batch(model: Classifier, crops: torch.Tensor, ps: torch.Tensor, k: int) -> np.ndarray:
    """Raw Grad-CAM ``(N, S, S)`` of class ``k`` for a batch of crops."""
    store: dict[str, torch.Tensor] = {}

    def keep(_m: torch.nn.Module, _i: object, out: torch.Tensor) -> None:
        store["act"] = out
        out.register_hook(lambda g: store.__setitem__("grad", g))

    handle = model.net.cam_layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            x = crops.clone().requires_grad_(True)
            logits, _ = model.net(x, ps)
            model.net.zero_grad(set_to_none=True)
            logits[:, k].sum().backward()
    finally:
        handle.remove()
    act, grad = store["act"].detach(), store["grad"].detach()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=crops.shape[-2:], mode="bilinear", align_corners=False)
    return cam[:, 0].numpy()


def gradcam_map(
    model: Classifier,
    image: np.ndarray,
    target: str | int,
    pixel_size: float | None = None,
    overlap: float = 0.5,
) -> Generator[Progress, None, np.ndarray]:
    """Grad-CAM heat map ``(H, W)`` in [0, 1] of class ``target`` (name or index)."""
    if isinstance(target, str):
        if target not in model.classes:
            raise ValueError(f"unknown class {target!r}; the model knows {model.classes}")
        k = model.classes.index(target)
    else:
        k = int(target)
    ps, _ = resolve_pixel_size(model, pixel_size)
    img = prepare_image(image)
    h, w = img.shape
    windows = grid_windows((h, w), window_side(model), overlap)
    acc = np.zeros((h, w), np.float32)
    wsum = np.zeros((h, w), np.float32)
    n_chunks = math.ceil(len(windows) / _CHUNK)
    for c in range(n_chunks):
        win = windows[c * _CHUNK : (c + 1) * _CHUNK]
        crops = cut(img, win, model.crop_size)
        cams = _cam_batch(model, crops, effective_pixel_size(ps, win, model.crop_size), k)
        for (r, col, s), cam in zip(win, cams, strict=True):
            s = int(s)
            tile = torch.from_numpy(cam)[None, None]
            if s != model.crop_size:
                tile = F.interpolate(tile, size=(s, s), mode="bilinear", align_corners=False)
            weight = _window_weight(s)
            acc[r : r + s, col : col + s] += tile[0, 0].numpy() * weight
            wsum[r : r + s, col : col + s] += weight
        yield Progress(
            c + 1,
            n_chunks,
            f"Grad-CAM: {min((c + 1) * _CHUNK, len(windows))}/{len(windows)} crops",
        )
    heat = acc / np.maximum(wsum, 1e-6)
    top = float(heat.max())
    return (heat / top).astype(np.float32) if top > 0 else heat
