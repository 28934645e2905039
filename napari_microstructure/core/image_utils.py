"""Conversions every core function needs: any micrograph array to float grey or uint8 RGB;
the one-pixel boundary of a label image."""

from __future__ import annotations

import numpy as np


def is_rgb(image: np.ndarray) -> bool:
    """True for an ``(H, W, 3)`` or ``(H, W, 4)`` array."""
    return image.ndim == 3 and image.shape[-1] in (3, 4)


def grey_if_neutral(image: np.ndarray) -> np.ndarray:
    """A colour image whose channels are all equal (a grey micrograph saved as RGB or RGBA) as
    its grey plane; any other image as it is."""
    img = np.asarray(image)
    if not is_rgb(img):
        return img
    first = img[..., 0]
    if all(np.array_equal(first, img[..., k]) for k in (1, 2)):
        return first
    return img


def first_plane(image: np.ndarray) -> np.ndarray:
    """The 2-D grey or RGB image of a file's data: a stack's (or a series of RGB pages') first
    page, other images as they are."""
    image = np.asarray(image)
    if image.ndim == 4 or (image.ndim == 3 and not is_rgb(image)):
        return image[0]
    return image


def intensity_range(image: np.ndarray) -> tuple[float, float]:
    """The grey levels ``(lo, hi)`` that an image's 0 and 1 stand for (alpha left out).

    Integer images span their bit depth: 8-bit 0..255; wider ones 0 to the smallest
    ``2**bits - 1`` above their maximum (a 14-bit camera's data in a 16-bit file spans
    0..16383, not 0..65535), and those below an eighth of their type's range (12 bits or less
    in 16) are stretched by their own min/max. Float images span their min/max unless already
    in [0, 1].
    """
    img = np.asarray(image)
    if is_rgb(img) and img.shape[-1] == 4:
        img = img[..., :3]
    if img.dtype == bool or img.size == 0:
        return 0.0, 1.0
    if np.issubdtype(img.dtype, np.integer):
        top = float(np.iinfo(img.dtype).max)
        if img.dtype.itemsize == 1:
            return 0.0, top
        high = float(img.max())
        if high < top / 8:
            return float(img.min()), high
        return 0.0, min(top, float(2 ** int(np.ceil(np.log2(high + 1))) - 1))
    lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
    if not (np.isfinite(lo) and np.isfinite(hi)):  # infinities (rare): the finite values'
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi)


def to_float01(image: np.ndarray) -> np.ndarray:
    """Scale an image to float32 in [0, 1] by :func:`intensity_range`, keeping its channels
    (not alpha); NaN becomes 0."""
    img = np.asarray(image)
    if is_rgb(img) and img.shape[-1] == 4:
        img = img[..., :3]
    lo, hi = intensity_range(img)
    out = img.astype(np.float32)
    if hi <= lo:
        return np.zeros_like(out)
    if (lo, hi) != (0.0, 1.0):
        out = (out - lo) / (hi - lo)
    return np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Float32 grey image in [0, 1] (luminance for RGB)."""
    img = to_float01(image)
    if img.ndim == 3:
        img = img @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
    return img


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 image (grey or RGB) scaled from :func:`to_float01`."""
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[-1] == 3):
        return image
    return np.clip(to_float01(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 image, grey replicated to three channels."""
    img = to_uint8(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def boundaries_from_labels(labels: np.ndarray) -> np.ndarray:
    """Bool map of the one-pixel grain boundary: pixels whose right or lower neighbour is
    another label."""
    b = np.zeros(labels.shape, bool)
    b[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    b[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return b


def border_band(labels: np.ndarray) -> np.ndarray:
    """Bool map of the pixels on both sides of every border (4-neighbours of another label)."""
    b = boundaries_from_labels(labels)
    b[1:, :] |= b[:-1, :].copy()
    b[:, 1:] |= b[:, :-1].copy()
    return b


#: Neighbours ``(dy, dx)`` asked in turn by :func:`fill_from_neighbours`: left, above, right,
#: below, then the diagonals.
LEFT_FIRST = ((0, -1), (-1, 0), (0, 1), (1, 0), (-1, -1), (1, 1), (-1, 1), (1, -1))


def fill_from_neighbours(
    labels: np.ndarray,
    passes: int,
    shifts: tuple[tuple[int, int], ...] = LEFT_FIRST,
    within: np.ndarray | None = None,
) -> np.ndarray:
    """A copy of ``labels`` whose 0 pixels take the label of a non-0 neighbour.

    The neighbours at offsets ``shifts`` are asked in that order, ``passes`` times (a pass
    reaches one pixel further); with ``within``, only a neighbour of the same ``within`` value
    counts. Pixels no neighbour reaches stay 0.
    """
    out = labels.copy()
    h, w = out.shape
    for _ in range(passes):
        if not (out == 0).any():
            break
        for dy, dx in shifts:
            dst = (slice(max(-dy, 0), h - max(dy, 0)), slice(max(-dx, 0), w - max(dx, 0)))
            src = (slice(max(dy, 0), h - max(-dy, 0)), slice(max(dx, 0), w - max(-dx, 0)))
            take = (out[dst] == 0) & (out[src] != 0)
            if within is not None:
                take &= within[src] == within[dst]
            out[dst][take] = out[src][take]
    return out


#: Share of this machine's memory a whole-image computation may count on.
MEMORY_SHARE = 0.5


def memory_budget() -> int:
    """Bytes a whole-image computation may use: :data:`MEMORY_SHARE` of the machine's memory."""
    import psutil

    return int(MEMORY_SHARE * psutil.virtual_memory().total)


def check_segment_size(shape: tuple[int, ...], bytes_per_pixel: float = 90.0) -> None:
    """Refuse, with the reason, an image too large to process whole (a montage, say).

    ``bytes_per_pixel`` is the computation's peak memory per pixel (the built-in grain
    segmentation: about 90, 87 measured on a 4096 x 4096 etched image); the image is refused
    when its peak would exceed :func:`memory_budget`.

    Raises
    ------
    ValueError : the image is too large; the message gives the memory it would need and the
        largest size allowed.
    """
    h, w = int(shape[0]), int(shape[1])
    budget = memory_budget()
    if h * w * bytes_per_pixel > budget:
        side = int((budget / bytes_per_pixel) ** 0.5)
        raise ValueError(
            f"image of {h}x{w} px ({h * w / 1e6:.0f} Mpx) is too large to segment at once: it "
            f"would need about {h * w * bytes_per_pixel / 2**30:.0f} GiB of memory, more than "
            f"{MEMORY_SHARE:.0%} of this machine's {budget / MEMORY_SHARE / 2**30:.0f} GiB; "
            f"segment a crop of at most about {side} x {side} px instead"
        )
