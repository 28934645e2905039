"""napari reader: micrographs open in µm with the pixel size their file carries.

A file the reader cannot use is told once, in napari's notification area, and opens nothing:
napari gets its "read, no layers" answer (``[(None,)]``) rather than an exception, which it
would print with a full traceback, or an empty list, after which it raises "returned no data".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_warning

from ._layers import image_layer_kwargs
from .core.imageio import SUPPORTED_SUFFIXES, ImageReadError, read_micrograph

# napari's and npe2's "the reader handled the file and has no layer to add"
NO_LAYERS: list[tuple] = [(None,)]


def get_reader(path: str | list[str]) -> Any:
    """Return :func:`napari_read` for supported files, None for everything else."""
    paths = [path] if isinstance(path, str) else list(path)
    if not paths or any(Path(p).suffix.lower() not in SUPPORTED_SUFFIXES for p in paths):
        return None
    return napari_read


def napari_read(path: str | list[str]) -> list[tuple]:
    """:func:`read_layers` for napari: :data:`NO_LAYERS` when no file could be read (each one
    already reported)."""
    return read_layers(path) or NO_LAYERS


def read_layers(path: str | list[str]) -> list[tuple]:
    """One layer per file, scaled in µm (a label image as a Labels layer, see
    :func:`is_label_image`, with the ``features`` the plugin's writer saved); unreadable files
    are reported, not raised."""
    paths = [path] if isinstance(path, str) else list(path)
    layers: list[tuple] = []
    for p in paths:
        try:
            mf = read_micrograph(p)
        except ImageReadError as exc:
            show_error(str(exc))
            continue
        labels = is_label_image(mf.data, mf.rgb, p)
        features, damaged = _saved_features(p) if labels else (None, "")
        notes = _file_notes(mf.note, mf.pixel_size is None, labels)
        told = " ".join(note for note in (notes, damaged) if note)
        if told:
            show_warning(f"{Path(p).name}: {told}")
        kwargs = image_layer_kwargs(
            mf.pixel_size,
            Path(p).stem,
            rgb=mf.rgb,
            metadata={
                "pixel_size_um": mf.pixel_size,
                "pixel_size_source": mf.source,
                "path": str(mf.path),
            },
        )
        if mf.pixel_size and mf.data.ndim > (3 if mf.rgb else 2):
            lead = mf.data.ndim - (3 if mf.rgb else 2)
            kwargs["scale"] = (1.0,) * lead + (mf.pixel_size,) * 2
            kwargs["units"] = ("pixel",) * lead + ("µm", "µm")
        if labels:
            del kwargs["rgb"]
            if features is not None:
                kwargs["features"] = features
            layers.append((mf.data, kwargs, "labels"))
        else:
            layers.append((mf.data, kwargs, "image"))
    return layers


def _saved_features(path: str | Path) -> tuple[Any, str]:
    """(the features table the plugin's writer saved with a label image, or None; the note
    telling that a damaged one was left out, or ``""``)."""
    from .core.atomic import written_features

    try:
        return written_features(path), ""
    except ValueError as exc:
        return None, f"{str(exc).capitalize()}: the labels open without their features."


def _file_notes(note: str, uncalibrated: bool, labels: bool) -> str:
    """What napari tells about a file: its notes (pages or images not shown, a calibration
    not used), whatever its pixel size, and for a file without one where to set it."""
    parts = [f"{note}." if note else ""]
    if uncalibrated:
        where = (
            "Set its micrograph's in the 'Pixel size' widget (labels of that size still in "
            "pixels take it too), or type it in the Measure widget's µm / pixel box."
            if labels
            else "Set it in the 'Pixel size' widget to measure in µm."
        )
        what = "No usable pixel size in the file" if note else "No pixel size in the file"
        parts.append(f"{what}: it is shown in pixels. {where}")
    return " ".join(part for part in parts if part)


def is_label_image(data: Any, rgb: bool, path: str | Path) -> bool:
    """A TIFF of 32- or 64-bit integers is a label image (grain ids: napari's saved labels):
    no camera writes them, and Measure and Refine need a Labels layer; so is any integer TIFF
    the plugin wrote as labels (``--labels-out``, ``segment --format tif``, a Curate export:
    :data:`~.core.atomic.LABELS_MARK`). Not a PNG: older Pillow reads a 16-bit one as 32-bit
    integers."""
    from .core.atomic import written_as_labels

    dtype = getattr(data, "dtype", None)
    if rgb or dtype is None or Path(path).suffix.lower() not in (".tif", ".tiff"):
        return False
    if dtype.kind not in "iu":
        return False
    return dtype.itemsize >= 4 or written_as_labels(path)
