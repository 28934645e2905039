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

_MINISWHITE, _RGB, _PALETTE = 0, 2, 3  # TIFF PhotometricInterpretation
INVERTED_NOTE = "stored white-is-zero: shown inverted, as other viewers show it"
_ALPHA = (1, 2)  # TIFF ExtraSamples: associated, unassociated alpha

# (data, pixel size µm, source, metadata, note, calibration note: the part of the note
# saying why a calibration in the file was not used)
TiffResult = tuple[np.ndarray, float | None, str, dict[str, Any], str, str]
# (indices of the samples shown, several grey samples shown as planes rather than colours)
SamplePlan = tuple[tuple[int, ...], bool]


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
        samples, samples_note = _sample_plan(page)
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
    more = [samples_note] if samples_note else []
    if reduced:
        more.append(f"{reduced} reduced-resolution preview(s) (thumbnails) are not shown")
    if others:
        more.append(f"{others} more image(s) of another size or kind in the file are not shown")
    if unstacked:
        same = f"{unstacked} more page(s) of the same size"
        more.append(f"{same} are not shown (too large to stack)")
    data = _squeeze_samples(data, axes, samples, check_size)
    if colormap is not None and data.dtype.kind in "ub":
        data = _apply_colormap(data, colormap, check_size)
    elif photometric == _MINISWHITE and not labels:
        data, inverted = _invert(data, check_size)
        if inverted:
            more.append(inverted)
    calibration = note
    if more:
        note = join_notes(note, *more)
    return data, pixel_size, source, meta, note, calibration


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


def _sample_plan(page: Any) -> tuple[SamplePlan | None, str]:
    """Which of a page's samples are shown: (plan, note), the plan None for all of them as
    stored (a single sample, CMYK, ...), the note naming the samples not shown, or ``""``.

    Alpha is not a grey level: grey drops its alpha samples and keeps every other one, as planes
    (the way the same channels stored one page each open); RGB keeps its colours and its first
    alpha, and the note names its other extra samples (a second detector, say), which are not
    shown. TIFF ExtraSamples 1 and 2 are alpha; 0, or no tag, is a sample of unspecified kind.
    "RGB" of 32- or 64-bit integers keeps every sample, as planes: they are label ids.
    """
    count = int(getattr(page, "samplesperpixel", 1) or 1)
    photometric = int(getattr(page, "photometric", -1))
    if count < 2 or photometric not in (0, 1, 2):  # MINISWHITE, MINISBLACK, RGB
        return None, ""
    if photometric == _RGB and _label_samples(page):
        # no camera writes 32- or 64-bit integer colours: these are label planes, as tifffile
        # stores a (3|4, H, W) array (napari's save of a 3- or 4-plane Labels stack)
        return (tuple(range(count)), True), ""
    first = 1 if photometric in (0, 1) else 3
    if count <= first:
        return None, ""
    extras = tuple(int(e) for e in (getattr(page, "extrasamples", None) or ()))
    alpha = [i < len(extras) and extras[i] in _ALPHA for i in range(count - first)]
    if first == 1:
        return (tuple([0] + [1 + i for i, a in enumerate(alpha) if not a]), True), ""
    keep = [0, 1, 2] + [3 + i for i, a in enumerate(alpha) if a][:1]
    dropped = [3 + i for i, a in enumerate(alpha) if not a]
    note = ""
    if dropped:
        which = ", ".join(str(i + 1) for i in dropped)
        word = "sample" if len(dropped) == 1 else "samples"
        note = (
            f"{word} {which} of {count} (extra, not alpha) not shown: "
            "an RGB image opens in its colours"
        )
    return (tuple(keep), False), note


def _label_samples(page: Any) -> bool:
    """Whether a page's samples are label planes as tifffile stores a (3|4, H, W) array of
    integers of 32 bits or more: planar (separate; the 4th plane tagged alpha). Interleaved, it
    stays a colour image."""
    if int(getattr(page, "planarconfig", 1)) != 2:
        return False
    dtype = getattr(page, "dtype", None)
    if dtype is None:  # a sample format numpy has no type for
        return False
    dtype = np.dtype(dtype)
    return dtype.kind in "iu" and dtype.itemsize >= 4


def _take(
    data: np.ndarray, keep: tuple[int, ...], check_size: Callable[[int], None]
) -> np.ndarray:
    """The ``keep`` samples of the last axis: a view (memory-mapped data stays on disk) where
    they follow one another, else a copy."""
    if keep == tuple(range(keep[0], keep[0] + len(keep))):
        return data[..., keep[0] : keep[0] + len(keep)]
    if isinstance(data, np.memmap):
        check_size(data.nbytes // data.shape[-1] * len(keep))
    return np.asarray(data)[..., list(keep)]


def _squeeze_samples(
    data: np.ndarray,
    axes: str,
    plan: SamplePlan | None,
    check_size: Callable[[int], None],
) -> np.ndarray:
    """Only the samples of ``plan`` (see :func:`_sample_plan`): colour samples last, several
    grey ones as planes before (H, W); planar RGB (axes ending 'SYX') becomes (H, W, 3); single
    pages lose their axis."""
    planar = axes.endswith("SYX") and data.ndim >= 3
    if plan is None:
        if planar and data.shape[-3] in (3, 4):
            data = np.moveaxis(data, -3, -1)
    elif planar or axes.endswith("S"):
        keep, planes = plan
        if planar:
            data = np.moveaxis(data, -3, -1)
        data = _take(data, keep, check_size)
        if len(keep) == 1:
            data = data[..., 0]
        elif planes:
            data = np.moveaxis(data, -1, -3)
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    return data
