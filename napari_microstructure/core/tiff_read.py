"""Pixels of a TIFF as a micrograph: its main image (not a reduced-resolution preview), pages
written one by one stacked, palette images as RGB and white-is-zero grey shown as other viewers
show it. Used by :func:`.imageio.read_micrograph`, which adds the checks and the override.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import LABELS_MARK
from .notes import join_notes
from .pixel_size_tags import tiff_pixel_size

__all__ = ["main_series", "read_tiff"]

_MINISWHITE, _PALETTE = 0, 3  # TIFF PhotometricInterpretation
INVERTED_NOTE = "stored white-is-zero: shown inverted, as other viewers show it"

# (data, pixel size µm, source, metadata, note)
TiffResult = tuple[np.ndarray, float | None, str, dict[str, Any], str]


def _reduced(series: Any) -> bool:
    """Whether a series is a reduced-resolution image (NewSubfileType bit 1: a thumbnail)."""
    page = series.pages[0] if len(series.pages) else None
    return bool(int(getattr(page, "subfiletype", 0) or 0) & 1)


def main_series(tif: Any) -> int:
    """Index of the file's main image: the first series that is no reduced-resolution preview,
    or the largest when all are."""
    series = list(tif.series)
    for index, s in enumerate(series):
        if not _reduced(s):
            return index
    return max(range(len(series)), key=lambda i: int(np.prod(series[i].shape)))


def read_tiff(
    path: Path, check_size: Callable[[int], None], memmap_bytes: int, labels: bool = False
) -> TiffResult:
    """Read a TIFF's main image; ``check_size(nbytes)`` raises when it does not fit in memory,
    and an uncompressed image over ``memmap_bytes`` is memory-mapped. ``labels``: the file
    holds label ids (palette indices kept, nothing inverted)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        index = main_series(tif)
        series = tif.series[index]
        axes = series.axes
        page = series.pages[0]
        samples = _samples_to_keep(page)
        nbytes = int(np.prod(series.shape)) * np.dtype(series.dtype).itemsize
        pixel_size, source, meta, note = tiff_pixel_size(tif, page)
        labels = labels or LABELS_MARK in (page.description, page.description1)
        photometric = int(getattr(page, "photometric", -1))
        palette = photometric == _PALETTE and not labels and not tif.is_imagej
        colormap = page.colormap if palette else None
        data = None
        if nbytes > memmap_bytes:
            try:  # large uncompressed files stay on disk and are read in tiles
                data = tifffile.memmap(path, series=index, mode="r")
            except (ValueError, OSError):
                data = None
        rest = [s for i, s in enumerate(tif.series) if i != index]
        reduced = sum(_reduced(s) for s in rest)
        # pages written one by one make a series each: same-sized ones are the file's stack
        alike = [s for s in rest if (s.shape, s.dtype) == (series.shape, series.dtype)]
        alike = [s for s in alike if not _reduced(s)]
        others, unstacked = len(rest) - len(alike) - reduced, 0
        if data is None:
            # a palette image also needs its RGB triples beside its indices
            check_size(nbytes * (1 + len(alike)) * (4 if colormap is not None else 1))
            data = series.asarray()
            if alike and series.ndim == 2 + (samples is not None or axes.endswith("S")):
                data = np.stack([data, *(s.asarray() for s in alike)])
                axes = "Q" + axes
            else:
                others += len(alike)
        else:  # the first page alone, kept on disk
            unstacked = len(alike)
    more = []
    if reduced:
        more.append(f"{reduced} reduced-resolution preview(s) (thumbnails) are not shown")
    if others:
        more.append(f"{others} more image(s) of another size or kind in the file are not shown")
    if unstacked:
        same = f"{unstacked} more page(s) of the same size"
        more.append(f"{same} are not shown (too large to stack)")
    data = _squeeze_samples(data, axes, samples)
    if colormap is not None and data.dtype.kind in "ub":
        data = _apply_colormap(data, colormap, check_size)
    elif photometric == _MINISWHITE and not labels and samples in (None, 1):
        data, inverted = _invert(data, check_size)
        if inverted:
            more.append(inverted)
    if more:
        note = join_notes(note, *more)
    return data, pixel_size, source, meta, note


def _apply_colormap(
    data: np.ndarray, colormap: np.ndarray, check_size: Callable[[int], None]
) -> np.ndarray:
    """Palette indices to RGB (uint8); TIFF colour maps are 16 bits a channel."""
    cmap = np.asarray(colormap)
    if cmap.max() > 255:
        cmap = cmap >> 8  # 65535 and the 255 * 256 some writers store both give 255
    cmap = cmap.astype(np.uint8)
    if isinstance(data, np.memmap):
        check_size(data.size * 3)
    indices = np.clip(np.asarray(data).astype(np.intp, copy=False), 0, cmap.shape[1] - 1)
    return np.ascontiguousarray(np.moveaxis(cmap[:, indices], 0, -1))


def _invert(data: np.ndarray, check_size: Callable[[int], None]) -> tuple[np.ndarray, str]:
    """White-is-zero grey of 8 or 16 bits as black-is-zero: (data, note), the note empty when
    nothing was inverted. Not 1-bit images (tifffile writes every bool array, a mask,
    white-is-zero: its values are data) nor integers of 32 bits or more (label ids)."""
    if data.dtype.kind in "iu" and data.dtype.itemsize < 4:
        if isinstance(data, np.memmap):
            check_size(data.nbytes)
        return np.invert(data), INVERTED_NOTE  # max - x unsigned, min <-> max signed
    return data, ""


def _samples_to_keep(page: Any) -> int | None:
    """How many of a page's samples are the image (1 grey, 3 RGB, 4 RGBA); None: all of them.

    Alpha is not a grey level: grey with alpha (or with one extra sample of any kind) keeps its
    grey, RGB with extra samples its RGB and, when the first extra one is alpha, the alpha.
    """
    count = int(getattr(page, "samplesperpixel", 1) or 1)
    extras = tuple(int(e) for e in (getattr(page, "extrasamples", None) or ()))
    alpha = bool(extras) and extras[0] in (1, 2)  # EXTRASAMPLE.ASSOCALPHA, UNASSALPHA
    photometric = int(getattr(page, "photometric", -1))
    if photometric in (0, 1) and count > 1 and (count == 2 or alpha):  # MINISWHITE/BLACK
        return 1
    if photometric == 2 and count > 3:  # RGB
        return 4 if alpha else 3
    return None


def _squeeze_samples(data: np.ndarray, axes: str, keep: int | None = None) -> np.ndarray:
    """Samples last, only the ``keep`` first of them (see :func:`_samples_to_keep`); planar
    RGB (axes ending 'SYX') becomes (H, W, 3); single pages lose their axis."""
    planar = axes.endswith("SYX") and data.ndim >= 3
    if planar and (keep is not None or data.shape[-3] in (3, 4)):
        data = np.moveaxis(data, -3, -1)
    if keep is not None and (planar or axes.endswith("S")):
        data = data[..., 0] if keep == 1 else data[..., :keep]
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    return data
