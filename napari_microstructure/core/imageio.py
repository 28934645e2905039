"""Read micrographs with their pixel size in µm, from whatever metadata the file carries.

Pixel size is looked up (:mod:`.pixel_size_tags`), in order of trust: FEI/Thermo Fisher SEM
header, Zeiss SEM header, OME-XML, ImageJ metadata, TIFF resolution tags, and PNG/JPEG density.
Densities that are print or screen settings (72, 96, 300 dpi, ...) are not a calibration and are
ignored. Pixels whose width and height differ by more than 1 % get no pixel size and a note:
every measurement here assumes square pixels. The size of an image is checked against the
memory available from its header, before it is decoded. TIFF pixels are read by
:mod:`.tiff_read` (the main image, not a thumbnail; palette colours; white-is-zero inverted).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .pixel_size_tags import density_pixel_size, unit_to_um
from .tiff_read import read_tiff

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ImageReadError",
    "MicrographFile",
    "describe",
    "parse_length",
    "read_micrograph",
    "unit_to_um",
]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
MEMMAP_BYTES = 1 << 30  # an uncompressed TIFF larger than this is memory-mapped, not read
_PILLOW_LIMIT_LOCK = threading.Lock()


class ImageReadError(ValueError):
    """The file cannot be used as a micrograph; the message says why, for the user."""


@dataclass
class MicrographFile:
    """Pixels and calibration of one micrograph file.

    Attributes
    ----------
    data
        ``(H, W)``, ``(H, W, 3|4)`` or, for multi-page files, ``(pages, H, W[, C])``.
    pixel_size
        µm per pixel, or None when the file carries no usable calibration.
    source
        Where the pixel size came from (``"fei"``, ``"zeiss"``, ``"ome"``, ``"imagej"``,
        ``"tiff-resolution"``, ``"png-density"`` (``"jpeg-density"``, ...), ``"override"``) or
        ``"none"``.
    note
        What the reader tells of the file: why a calibration in it was not used, pages,
        images or samples not shown, an image inverted; or ``""``.
    calibration_note
        The part of :attr:`note` saying why a calibration in the file was not used
        (non-square pixels, a print density, no unit), or ``""``: what results computed
        without the file's pixel size carry.
    """

    path: Path
    data: np.ndarray
    pixel_size: float | None
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    calibration_note: str = ""

    @property
    def rgb(self) -> bool:
        return self.data.ndim >= 3 and self.data.shape[-1] in (3, 4)

    def plane_note(self, done: str = "used") -> str | None:
        """Of a file of several planes (pages, slices) only plane 0 (:attr:`image`) is
        ``done``: the note saying so; None for a single plane."""
        n = int(np.prod(self.data.shape[: self.data.ndim - (3 if self.rgb else 2)]))
        return f"file has {n} planes; plane 0 was {done}" if n > 1 else None

    @property
    def image(self) -> np.ndarray:
        """The first plane as a single 2-D (or RGB) micrograph."""
        arr = self.data
        while arr.ndim > (3 if self.rgb else 2):
            arr = arr[0]
        return arr


def _available_memory(meminfo: str | Path = "/proc/meminfo") -> int:
    """Bytes a new allocation can take: the kernel's MemAvailable (free memory plus the cache
    it can drop) where it is reported, else the free pages, else 8 GiB."""
    try:
        with open(meminfo, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _check_size(nbytes: int, path: Path) -> None:
    limit = _available_memory() // 2
    if nbytes > limit:
        raise ImageReadError(
            f"{path.name}: {nbytes / 2**30:.1f} GiB of pixels does not fit in the free memory "
            f"({limit / 2**30:.1f} GiB usable); save it as an uncompressed TIFF so it can be "
            "read in tiles, or crop it."
        )


def read_micrograph(
    path: str | Path, pixel_size: float | None = None, labels: bool = False
) -> MicrographFile:
    """Read an image file and its pixel size.

    Parameters
    ----------
    path
        TIFF (also OME, ImageJ, FEI, Zeiss), PNG, JPEG or BMP file.
    pixel_size
        µm per pixel that overrides whatever the file says.
    labels
        The file holds label ids (a mask): a palette image gives its indices, not its
        colours, a 1-bit image 0 and 1, and a white-is-zero TIFF its values as stored.

    Raises
    ------
    ImageReadError
        Missing, empty, truncated, too large or unsupported files, with a message for the user.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path.name}: the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ImageReadError(
            f"{path.name}: unsupported file type '{suffix or '(none)'}'; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        if suffix in (".tif", ".tiff"):
            result = _read_tiff(path, labels)
        else:
            result = _read_pillow(path, labels)
    except ImageReadError:
        raise
    except MemoryError as exc:
        raise ImageReadError(f"{path.name}: not enough memory to read this image") from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a broken file
        raise ImageReadError(
            f"{path.name}: cannot be read as an image (truncated or corrupt?): {exc}"
        ) from exc
    _check_pixels(result)
    if pixel_size is not None:
        if not pixel_size > 0:
            raise ImageReadError(f"pixel size must be positive, got {pixel_size}")
        result.pixel_size, result.source, result.note = float(pixel_size), "override", ""
        result.calibration_note = ""
    elif result.note:
        log.warning("%s: %s", path.name, result.note)
    return result


def _check_pixels(mf: MicrographFile) -> None:
    """Refuse data that is no grey or colour image of at least 2 x 2 pixels."""
    name = mf.path.name
    if mf.data.dtype.kind not in "biuf":
        raise ImageReadError(
            f"{name}: its pixels are {mf.data.dtype} values, not grey levels or colours; "
            "save the image with integer or real pixel values"
        )
    if mf.data.size == 0 or mf.image.ndim < 2:
        raise ImageReadError(f"{name}: the image has no pixels")
    height, width = mf.image.shape[:2]
    if min(height, width) < 2:
        what = (
            f"too narrow: {width} px wide ({height} px high)"
            if width < 2
            else f"too short: {height} px high ({width} px wide)"
        )
        raise ImageReadError(f"{name}: the image is {what}; a micrograph needs 2 px each way")


# -- TIFF ---------------------------------------------------------------------------------------


def _read_tiff(path: Path, labels: bool = False) -> MicrographFile:
    # the module's MEMMAP_BYTES and _check_size are looked up now, so tests can patch them
    data, pixel_size, source, meta, note, calibration = read_tiff(
        path, lambda nbytes: _check_size(nbytes, path), MEMMAP_BYTES, labels
    )
    return MicrographFile(path, data, pixel_size, source, meta, note, calibration)


# -- PNG / JPEG / BMP ---------------------------------------------------------------------------


def _open_pillow(path: Path) -> Any:
    """Open (the header only) with Pillow's decompression-bomb limit lifted: a micrograph
    montage is often larger than it, and :func:`_check_size` judges the size against the memory
    there is before anything is decoded."""
    from PIL import Image

    # ultralytics replaces Image.open by one that, on a file Pillow cannot identify, tries to
    # install and import a HEIF plugin: a corrupt file then reads "No module named 'pi_heif'"
    patches = sys.modules.get("ultralytics.utils.patches")
    pillow_open = getattr(patches, "_image_open", Image.open)
    with _PILLOW_LIMIT_LOCK:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return pillow_open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def _pillow_target(img: Any) -> str | None:
    """The mode a Pillow image is converted to (None: kept): colour as RGB(A), alpha dropped
    from grey."""
    if img.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV"):
        return "RGBA" if "transparency" in img.info else "RGB"
    if img.mode in ("LA", "PA", "1"):
        return "L"
    return None


def _read_pillow(path: Path, labels: bool = False) -> MicrographFile:
    from PIL import Image

    img = _open_pillow(path)
    with img:
        dpi = img.info.get("dpi")
        kind = f"{(img.format or 'image').lower()}-density"  # png-, jpeg-, bmp-density
        mode = img.mode
        target = _pillow_target(img)
        depth = 2 if mode.startswith("I;16") else 4 if mode in ("I", "F") else 1
        bands = len(img.getbands())
        # decoded image, its conversion, and the copy np.asarray makes of the result
        held = bands + 2 * Image.getmodebands(target) if target else 2 * bands
        _check_size(img.width * img.height * depth * held, path)
        img.load()
        if labels and mode in ("P", "PA", "1"):  # ids, not colours
            data = np.asarray(img.getchannel(0) if mode == "PA" else img).astype(np.uint8)
        else:
            data = np.asarray(img.convert(target) if target else img)
    pixel_size, source, note = density_pixel_size(dpi, kind) if dpi else (None, "none", "")
    return MicrographFile(path, data, pixel_size, source, {"mode": mode}, note, note)


def describe(mf: MicrographFile) -> dict[str, Any]:
    """Summary of a file for ``napari-microstructure info``."""
    img = mf.image
    height, width = img.shape[:2]
    return {
        "path": str(mf.path),
        "shape": list(mf.data.shape),
        "dtype": str(mf.data.dtype),
        "rgb": mf.rgb,
        "pages": int(mf.data.shape[0]) if mf.data.ndim > (3 if mf.rgb else 2) else 1,
        "pixel_size_um": mf.pixel_size,
        "pixel_size_source": mf.source,
        "field_of_view_um": (
            [round(width * mf.pixel_size, 4), round(height * mf.pixel_size, 4)]
            if mf.pixel_size
            else None
        ),
        "note": None
        if mf.pixel_size
        else mf.note
        or "no pixel size in the file; measurements are in pixels (set it with --pixel-size)",
        **({"metadata": mf.metadata} if mf.metadata else {}),
    }


_SCALE_TEXT = re.compile(r"^\s*([0-9.]+)\s*([a-zµμ]+)\s*$", re.IGNORECASE)


def parse_length(text: str) -> float:
    """Parse a length such as ``"50 µm"`` or ``"0.2 mm"`` into µm."""
    match = _SCALE_TEXT.match(text)
    if not match:
        raise ValueError(f"cannot read a length from {text!r}; write e.g. '50 µm'")
    factor = unit_to_um(match.group(2))
    if factor is None:
        raise ValueError(f"unknown unit {match.group(2)!r}")
    return float(match.group(1)) * factor
