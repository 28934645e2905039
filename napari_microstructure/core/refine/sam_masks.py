"""Low-resolution SAM mask logits to boolean masks at image resolution, doing only needed work.

``Sam.postprocess_masks`` upsamples every logit map bilinearly to 1024x1024 (floats), crops,
upsamples again to the image and thresholds at 0. Here the masks are resampled once, straight
to the image's resolution, only in the window where a mask is positive, and the last pass
writes booleans (the sign is all that is kept) instead of a float image.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def logits_to_masks(
    logits: torch.Tensor,
    origin: tuple[int, int],
    img_size: int,
    scale: float,
    out_shape: tuple[int, int],
    offset: tuple[int, int] = (0, 0),
    full_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Threshold low-res logits at image resolution, only inside each mask's box.

    ``scale`` is model-input px per image px; ``out_shape`` the size of the image (tile) the
    model saw; ``offset`` where that tile sits in a ``full_shape`` image (tiles).
    """
    k, h, w = logits.shape
    full = full_shape or out_shape
    masks = np.zeros((k, full[0], full[1]), dtype=bool)
    low = img_size / (4 * (img_size // 16))  # model-input px per low-res px (4 for SAM)
    factor = low / scale  # image px per low-res px
    if abs(factor - round(factor)) < 1e-9 and round(factor) >= 1:
        return _integer_upsample(logits, origin, int(round(factor)), out_shape, offset, masks)
    for i in range(k):
        pos = torch.nonzero(logits[i] > 0)
        if len(pos) == 0:
            continue
        lo = (pos.min(0).values - 1).tolist()
        hi = (pos.max(0).values + 2).tolist()
        # image pixels whose centre maps into the positive low-res window
        rows = _range(lo[0], hi[0], origin[0], low, scale, out_shape[0])
        cols = _range(lo[1], hi[1], origin[1], low, scale, out_shape[1])
        if rows is None or cols is None:
            continue
        gy = ((rows + 0.5) * scale / low - origin[0]) / h * 2 - 1
        gx = ((cols + 0.5) * scale / low - origin[1]) / w * 2 - 1
        grid = torch.stack(
            torch.meshgrid(
                torch.as_tensor(gx, dtype=torch.float32),
                torch.as_tensor(gy, dtype=torch.float32),
                indexing="xy",
            ),
            dim=-1,
        )[None]
        vals = F.grid_sample(
            logits[i][None, None],
            grid,
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )[0, 0]
        r0, c0 = offset[0] + int(rows[0]), offset[1] + int(cols[0])
        masks[i, r0 : r0 + len(rows), c0 : c0 + len(cols)] = (vals > 0).numpy()
    return masks


def _pad_edges(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Previous, own and next pixel along ``dim`` (edges clamped)."""
    n = x.shape[dim]
    xp = torch.cat([x.narrow(dim, 0, 1), x, x.narrow(dim, n - 1, 1)], dim)
    return xp.narrow(dim, 0, n), xp.narrow(dim, 1, n), xp.narrow(dim, 2, n)


def _upsampled_signs(x: torch.Tensor, f: int) -> torch.Tensor:
    """``bilinear_upsample(x, f) > 0`` (``align_corners=False``, edges clamped) for logits
    ``(K, h, w)``: the same weights as ``F.interpolate``, written phase by phase into strided
    views of one output (no stacking copies), the second pass straight to booleans."""
    k, h, w = x.shape
    rows = torch.empty(k, h, f, w)
    prev, cur, nxt = _pad_edges(x, 1)
    back, fwd = cur - prev, nxt - cur
    for p in range(f):
        o = (p + 0.5) / f - 0.5  # where output phase p samples, in input pixels
        torch.add(cur, back if o < 0 else fwd, alpha=o, out=rows[:, :, p])
    y = rows.reshape(k, h * f, w)
    prev, cur, nxt = _pad_edges(y, 2)
    back, fwd = cur - prev, nxt - cur
    out = torch.empty(k, h * f, w, f, dtype=torch.bool)
    for p in range(f):
        o = (p + 0.5) / f - 0.5
        torch.gt(cur, (back if o < 0 else fwd) * -o, out=out[:, :, :, p])  # cur + o*d > 0
    return out.reshape(k, h * f, w * f)


def _integer_upsample(
    logits: torch.Tensor,
    origin: tuple[int, int],
    f: int,
    out_shape: tuple[int, int],
    offset: tuple[int, int],
    masks: np.ndarray,
) -> np.ndarray:
    """Bilinear upsampling by an integer factor and threshold, once for all masks, in the
    window where any mask is positive (a positive upsampled pixel is within one low-res pixel
    of a positive one)."""
    x = torch.as_tensor(logits)
    anyp = (x > 0).any(0)
    rows, cols = torch.nonzero(anyp.any(1)).flatten(), torch.nonzero(anyp.any(0)).flatten()
    if rows.numel() == 0:
        return masks
    r0, c0 = max(int(rows[0]) - 1, 0), max(int(cols[0]) - 1, 0)
    r1, c1 = min(int(rows[-1]) + 2, x.shape[1]), min(int(cols[-1]) + 2, x.shape[2])
    # one more low-res pixel of context so the interpolation at the window edge is exact
    pr0, pc0 = max(r0 - 1, 0), max(c0 - 1, 0)
    pr1, pc1 = min(r1 + 1, x.shape[1]), min(c1 + 1, x.shape[2])
    up = _upsampled_signs(x[:, pr0:pr1, pc0:pc1], f)
    y0, x0 = (origin[0] + r0) * f, (origin[1] + c0) * f
    y1 = min((origin[0] + r1) * f, out_shape[0])
    x1 = min((origin[1] + c1) * f, out_shape[1])
    if y1 > y0 and x1 > x0:
        sub = up[:, (r0 - pr0) * f :, (c0 - pc0) * f :][:, : y1 - y0, : x1 - x0]
        masks[:, offset[0] + y0 : offset[0] + y1, offset[1] + x0 : offset[1] + x1] = sub.numpy()
    return masks


def _range(lo: int, hi: int, origin: int, low: float, scale: float, n: int) -> np.ndarray | None:
    a = max(int(math.floor((lo + origin) * low / scale)) - 1, 0)
    b = min(int(math.ceil((hi + origin) * low / scale)) + 1, n)
    return np.arange(a, b, dtype=np.float64) if b > a else None
