"""Pixel size in µm from the metadata of a TIFF (SEM headers, OME, ImageJ, resolution tags) or
from a PNG/JPEG/BMP density.

Densities in dots per inch are mostly what a program writes by default for screen or print
(72, 96, 150, 300, 600 dpi, a scanner's 1200 or 2400 dpi): not a calibration of the specimen.
A per-inch density whose pixel would be over :data:`MAX_DENSITY_PIXEL_UM` µm (below 2540 dpi)
therefore gives no pixel size, with a note; 72 and 96 dpi, which nearly every program writes,
are ignored without one.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

UM_PER_INCH = 25400.0
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
    "inch": UM_PER_INCH,
    # the rest of OME's UnitsLength that a pixel size may be given in
    "fm": 1e-9,
    "å": 1e-4,  # Ångström (looked up lower-cased)
    "dm": 1e5,
    "in": UM_PER_INCH,
    "thou": UM_PER_INCH / 1000,
    "mil": UM_PER_INCH / 1000,
    "pt": UM_PER_INCH / 72,
    "ft": 12 * UM_PER_INCH,
}
# TIFF ResolutionUnit (tifffile.RESUNIT): 1 none, 2 inch, 3 cm; 4 mm and 5 µm are tifffile's
_RESUNIT_UM = {2: UM_PER_INCH, 3: 1e4, 4: 1e3, 5: 1.0}
_SCREEN_DPI = (72.0, 96.0)
# Optical micrographs at the lowest magnifications reach a few µm per pixel; a per-inch density
# coarser than this is a print, screen or scan setting (2400 dpi is 10.6 µm).
MAX_DENSITY_PIXEL_UM = 10.0
# print densities (dots per inch) that image editors also write per cm, and a pixel size no
# micrograph has (a millimetre a pixel)
_PRINT_DPI = (150.0, 200.0, 300.0, 600.0, 1200.0)
MAX_PIXEL_UM = 1000.0

# each reader returns (pixel width µm, pixel height µm or None if not given, source, metadata),
# or a note saying why the metadata it found gives no pixel size
_Found = tuple[float, float | None, str, dict[str, Any]]


def unit_to_um(unit: str) -> float | None:
    """Factor from ``unit`` to µm, or None for an unknown unit."""
    key = unit.strip().lower().replace("\\u00b5", "µ")
    return _UNIT_TO_UM.get(key)


def square(width: float, height: float | None, source: str) -> tuple[float | None, str, str]:
    """(pixel size, source, note): no pixel size when width and height differ by over 1 %,
    or when either is not a finite number."""
    if not math.isfinite(width) or (height is not None and not math.isfinite(height)):
        return None, "none", f"the pixel size in the file ({source}) is not a finite number"
    if height is None or abs(width - height) <= 0.01 * max(width, height):
        return width, source, ""
    note = (
        f"the pixels are not square ({width:.6g} µm wide, {height:.6g} µm high, from {source}); "
        "measurements need square pixels: resample the image to square pixels, or set the "
        "pixel size yourself (--pixel-size, or the Pixel size dock) if the metadata is wrong"
    )
    return None, "none", note


def _density_problem(pixel_um: float) -> str | None:
    """For a density per inch: "" for a screen default (ignored quietly), a note for another
    print or screen density, None for a plausible calibration."""
    dpi = UM_PER_INCH / pixel_um
    if any(abs(dpi - screen) <= 0.005 * screen for screen in _SCREEN_DPI):
        return ""
    if pixel_um <= MAX_DENSITY_PIXEL_UM:
        return None
    return (
        f"the file's density of {dpi:.4g} dots per inch ({pixel_um:.4g} µm per pixel) is a "
        "print or screen setting, not a microscope calibration; set the pixel size yourself "
        "(--pixel-size, or the Pixel size dock)"
    )


def _unit_density_problem(pixel_um: float, unit_um: float) -> str | None:
    """As :func:`_density_problem`, for a density given per ``unit_um`` µm (an inch, a cm, a
    mm, ...): per inch every coarse density is a print setting; per another unit only the
    screen and print densities themselves, and pixels of a millimetre or more."""
    problem = _density_problem(pixel_um)
    if problem is None or problem == "" or unit_um == UM_PER_INCH:
        return problem
    dpi = UM_PER_INCH / pixel_um
    if any(abs(dpi - d) <= 0.005 * d for d in _PRINT_DPI) or pixel_um >= MAX_PIXEL_UM:
        return problem
    return None


def density_pixel_size(dpi: Any, source: str) -> tuple[float | None, str, str]:
    """(pixel size, source, note) from a Pillow ``info["dpi"]`` pair (dots per inch)."""
    try:
        xdpi = float(dpi[0])
        ydpi = float(dpi[1]) if len(dpi) > 1 and dpi[1] else None
    except (TypeError, ValueError, IndexError):
        return None, "none", ""
    if not xdpi > 0:
        return None, "none", ""
    problem = _density_problem(UM_PER_INCH / xdpi)
    if problem is not None:
        return None, "none", problem
    return square(UM_PER_INCH / xdpi, UM_PER_INCH / ydpi if ydpi else None, source)


def tiff_pixel_size(tif: Any, page: Any = None) -> tuple[float | None, str, dict[str, Any], str]:
    """(pixel size, source, metadata, note) from the most trusted metadata the file has; the
    tags are those of ``page`` (the main image's first page), by default the file's first."""
    note = ""
    page = tif.pages.first if page is None else page
    for reader in (_fei, _zeiss, _ome, _imagej, _resolution_tags):
        try:
            found = reader(tif, page)
        except (KeyError, ValueError, TypeError, IndexError, ET.ParseError):
            found = None
        if isinstance(found, str):
            note = note or found
        elif found is not None and found[0] is not None and found[0] > 0:
            width, height, source, meta = found
            size, source, note = square(width, height, source)
            return size, source, meta, note
    return None, "none", {}, note


def _fei(tif: Any, page: Any) -> _Found | None:
    meta: dict[str, Any] = {}
    for code in (34680, 34682):  # FEI_SFEG, FEI_HELIOS
        value = page.tags.valueof(code)
        if isinstance(value, dict):
            meta.update(value)
    if not meta:
        return None
    scan = meta.get("Scan") or meta.get("EScan") or {}
    width_m = float(scan["PixelWidth"])
    height_m = float(scan.get("PixelHeight", width_m))
    instrument = meta.get("System", {}).get("SystemType", "")
    return width_m * 1e6, height_m * 1e6, "fei", {"instrument": instrument}


def _zeiss(tif: Any, page: Any) -> _Found | None:
    meta = page.tags.valueof(34118)  # CZ_SEM
    if not isinstance(meta, dict) or not meta:
        return None
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        if key in meta:
            entry = meta[key]
            value, unit = float(entry[1]), entry[2] if len(entry) > 2 else "nm"
            factor = unit_to_um(unit)
            if factor:
                return value * factor, None, "zeiss", {}
    return None


def _ome(tif: Any, page: Any) -> _Found | None:
    xml = tif.ome_metadata
    if not xml:
        return None
    root = ET.fromstring(xml)
    pixels = next(el for el in root.iter() if el.tag.endswith("Pixels"))
    sizes = []
    for axis in "XY":
        size = pixels.attrib.get(f"PhysicalSize{axis}")
        unit = pixels.attrib.get(f"PhysicalSize{axis}Unit", "µm")
        factor = unit_to_um(unit)
        if size is not None and factor is None:
            return (
                f"the OME pixel size is given in a unit this reader does not know ({unit!r}); "
                "set it yourself (--pixel-size, or the Pixel size dock)"
            )
        sizes.append(float(size) * factor if size is not None and factor else None)
    return (sizes[0], sizes[1], "ome", {}) if sizes[0] else None


def _resolution(page: Any, axis: str) -> float | None:
    """Pixels per resolution unit along ``axis`` ("X" or "Y"), None when not given."""
    tag = page.tags.get(f"{axis}Resolution")
    if tag is None:
        return None
    num, den = tag.value
    return num / den if den and num else None


def _imagej(tif: Any, page: Any) -> _Found | str | None:
    meta = tif.imagej_metadata
    if not meta or "unit" not in meta:
        return None
    factor = unit_to_um(str(meta["unit"]))
    xres, yres = _resolution(page, "X"), _resolution(page, "Y")
    if not factor or not xres:
        return None
    problem = _unit_density_problem(factor / xres, factor)  # a screenshot's 96 dpi, say
    if problem is not None:
        return problem or None
    return factor / xres, factor / yres if yres else None, "imagej", {}


def _resolution_tags(tif: Any, page: Any) -> _Found | str | None:
    if (tif.imagej_metadata or {}).get("unit"):  # ImageJ's unit: :func:`_imagej` read them
        return None
    xres, yres = _resolution(page, "X"), _resolution(page, "Y")
    unit_tag = page.tags.get("ResolutionUnit")
    unit = int(unit_tag.value) if unit_tag is not None else 2  # TIFF's default is inch
    if not xres or (xres == 1.0 and unit in (1, 2)):  # 1 per inch or per nothing: no density
        return None
    per_unit_um = _RESUNIT_UM.get(unit)
    if per_unit_um is None:
        what = "no unit (ResolutionUnit 1)" if unit == 1 else f"an unknown unit ({unit})"
        return (
            f"the TIFF resolution tags ({xres:.6g} pixels per unit) have {what}, so they give "
            "no pixel size; set it yourself (--pixel-size, or the Pixel size dock)"
        )
    problem = _unit_density_problem(per_unit_um / xres, per_unit_um)
    if problem is not None:  # "" for 72 or 96 dpi (whatever the unit): ignored quietly
        return problem or None
    return per_unit_um / xres, per_unit_um / yres if yres else None, "tiff-resolution", {}
