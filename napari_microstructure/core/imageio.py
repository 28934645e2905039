"""Read micrographs with their pixel size in µm, from whatever metadata the file carries.

Pixel size is looked up, in order of trust: FEI/Thermo Fisher SEM header, Zeiss SEM header,
OME-XML, ImageJ metadata, TIFF resolution tags, and PNG/JPEG density. A resolution of 72 or
96 dots per inch is a screen default written by most software, not a calibration, and is
ignored. Pixels whose width and height differ by more than 1 % get no pixel size and a note:
every measurement here assumes square pixels.
"""

from __future__ import annotations

import logging
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
_SCREEN_DPI = (72.0, 96.0)
_UNIT_TO_UM = {
    "pm": 1e-6,
    "nm": 1e-3,
    "um": 1.0,
    "µm": 1.0,
    "μm": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "mm": 1e3,
    "millimeter": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "meter": 1e6,
    "inch": 25400.0,
}


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
        ``"tiff-resolution"``, ``"png-density"``, ``"override"``) or ``"none"``.
    note
        Why a calibration in the file was not used (non-square pixels), or ``""``.
    """

    path: Path
    data: np.ndarray
    pixel_size: float | None
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def rgb(self) -> bool:
        return self.data.ndim >= 3 and self.data.shape[-1] in (3, 4)

    @property
    def image(self) -> np.ndarray:
        """The first plane as a single 2-D (or RGB) micrograph."""
        arr = self.data
        while arr.ndim > (3 if self.rgb else 2):
            arr = arr[0]
        return arr


def unit_to_um(unit: str) -> float | None:
    """Factor from ``unit`` to µm, or None for an unknown unit."""
    key = unit.strip().lower().replace("\\u00b5", "µ")
    return _UNIT_TO_UM.get(key)


def _available_memory() -> int:
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


def read_micrograph(path: str | Path, pixel_size: float | None = None) -> MicrographFile:
    """Read an image file and its pixel size.

    Parameters
    ----------
    path
        TIFF (also OME, ImageJ, FEI, Zeiss), PNG, JPEG or BMP file.
    pixel_size
        µm per pixel that overrides whatever the file says.

    Raises
    ------
    ImageReadError
        Missing, empty, truncated or unsupported files, with a message for the user.
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
            result = _read_tiff(path)
        else:
            result = _read_pillow(path)
    except ImageReadError:
        raise
    except MemoryError as exc:
        raise ImageReadError(f"{path.name}: not enough memory to read this image") from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a broken file
        raise ImageReadError(
            f"{path.name}: cannot be read as an image (truncated or corrupt?): {exc}"
        ) from exc
    if result.data.size == 0 or min(result.image.shape[:2]) < 2:
        raise ImageReadError(f"{path.name}: the image has no pixels")
    if pixel_size is not None:
        if not pixel_size > 0:
            raise ImageReadError(f"pixel size must be positive, got {pixel_size}")
        result.pixel_size, result.source, result.note = float(pixel_size), "override", ""
    elif result.note:
        log.warning("%s: %s", path.name, result.note)
    return result


def _square(width: float, height: float | None, source: str) -> tuple[float | None, str, str]:
    """(pixel size, source, note): no pixel size when width and height differ by over 1 %."""
    if height is None or abs(width - height) <= 0.01 * max(width, height):
        return width, source, ""
    note = (
        f"the pixels are not square ({width:.6g} µm wide, {height:.6g} µm high, from {source}); "
        "measurements need square pixels: resample the image to square pixels, or set the "
        "pixel size yourself (--pixel-size, or the Pixel size dock) if the metadata is wrong"
    )
    return None, "none", note


# -- TIFF ---------------------------------------------------------------------------------------


def _read_tiff(path: Path) -> MicrographFile:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes = series.axes
        nbytes = int(np.prod(series.shape)) * np.dtype(series.dtype).itemsize
        pixel_size, source, meta, note = _tiff_pixel_size(tif)
        data = None
        if nbytes > 1 << 30:
            try:  # large uncompressed files stay on disk and are read in tiles
                data = tifffile.memmap(path, series=0, mode="r")
            except (ValueError, OSError):
                data = None
        if data is None:
            _check_size(nbytes, path)
            data = series.asarray()
    data = _squeeze_samples(data, axes)
    return MicrographFile(path, data, pixel_size, source, meta, note)


def _squeeze_samples(data: np.ndarray, axes: str) -> np.ndarray:
    """Planar RGB (samples first, axes 'SYX') becomes (H, W, 3); single pages lose their axis."""
    if axes.endswith("SYX") and data.shape[-3] in (3, 4):
        data = np.moveaxis(data, -3, -1)
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    return data


# each reader returns (pixel width µm, pixel height µm or None if not given, source, metadata)
_Found = tuple[float, float | None, str, dict[str, Any]]


def _tiff_pixel_size(tif: Any) -> tuple[float | None, str, dict[str, Any], str]:
    """(pixel size, source, metadata, note) from the most trusted metadata the file has."""
    for reader in (_fei, _zeiss, _ome, _imagej, _resolution_tags):
        try:
            found = reader(tif)
        except (KeyError, ValueError, TypeError, IndexError, ET.ParseError):
            found = None
        if found is not None and found[0] is not None and found[0] > 0:
            width, height, source, meta = found
            size, source, note = _square(width, height, source)
            return size, source, meta, note
    return None, "none", {}, ""


def _fei(tif: Any) -> _Found | None:
    meta = tif.fei_metadata
    if not meta:
        return None
    scan = meta.get("Scan") or meta.get("EScan") or {}
    width_m = float(scan["PixelWidth"])
    height_m = float(scan.get("PixelHeight", width_m))
    instrument = meta.get("System", {}).get("SystemType", "")
    return width_m * 1e6, height_m * 1e6, "fei", {"instrument": instrument}


def _zeiss(tif: Any) -> _Found | None:
    meta = tif.sem_metadata
    if not meta:
        return None
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        if key in meta:
            entry = meta[key]
            value, unit = float(entry[1]), entry[2] if len(entry) > 2 else "nm"
            factor = unit_to_um(unit)
            if factor:
                return value * factor, None, "zeiss", {}
    return None


def _ome(tif: Any) -> _Found | None:
    xml = tif.ome_metadata
    if not xml:
        return None
    root = ET.fromstring(xml)
    pixels = next(el for el in root.iter() if el.tag.endswith("Pixels"))
    sizes = []
    for axis in "XY":
        size = pixels.attrib.get(f"PhysicalSize{axis}")
        factor = unit_to_um(pixels.attrib.get(f"PhysicalSize{axis}Unit", "µm"))
        sizes.append(float(size) * factor if size is not None and factor else None)
    return (sizes[0], sizes[1], "ome", {}) if sizes[0] else None


def _resolution(tif: Any, axis: str) -> float | None:
    """Pixels per resolution unit along ``axis`` ("X" or "Y"), None when not given."""
    tag = tif.pages.first.tags.get(f"{axis}Resolution")
    if tag is None:
        return None
    num, den = tag.value
    return num / den if den and num else None


def _imagej(tif: Any) -> _Found | None:
    meta = tif.imagej_metadata
    if not meta or "unit" not in meta:
        return None
    factor = unit_to_um(str(meta["unit"]))
    xres, yres = _resolution(tif, "X"), _resolution(tif, "Y")
    if not factor or not xres:
        return None
    return factor / xres, factor / yres if yres else None, "imagej", {}


def _resolution_tags(tif: Any) -> _Found | None:
    xres, yres = _resolution(tif, "X"), _resolution(tif, "Y")
    unit_tag = tif.pages.first.tags.get("ResolutionUnit")
    unit = int(unit_tag.value) if unit_tag is not None else 2
    if not xres or unit == 1:
        return None
    if unit == 2 and any(abs(xres - dpi) < 1e-6 for dpi in _SCREEN_DPI):
        return None
    per_unit_um = 25400.0 if unit == 2 else 10000.0
    return per_unit_um / xres, per_unit_um / yres if yres else None, "tiff-resolution", {}


# -- PNG / JPEG / BMP ---------------------------------------------------------------------------


def _read_pillow(path: Path) -> MicrographFile:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        dpi = img.info.get("dpi")
        mode = img.mode
        if mode in ("P", "CMYK", "YCbCr", "LAB", "HSV"):
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif mode in ("LA", "PA"):
            img = img.convert("L")
        elif mode == "1":
            img = img.convert("L")
        _check_size(img.width * img.height * len(img.getbands()) * 2, path)
        data = np.asarray(img)
    pixel_size, source, note = None, "none", ""
    if dpi and dpi[0] and not any(abs(float(dpi[0]) - d) < 0.5 for d in _SCREEN_DPI):
        height = 25400.0 / float(dpi[1]) if len(dpi) > 1 and dpi[1] else None
        pixel_size, source, note = _square(25400.0 / float(dpi[0]), height, "png-density")
    return MicrographFile(path, data, pixel_size, source, {"mode": mode}, note)


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
