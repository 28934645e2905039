"""Training images: a folder with one sub-folder per class, each image with its pixel size.

Layout::

    DIR/
      ferrite/       a.tif  b.png ...
      martensite/    ...
      pixel_sizes.json   (optional)

The pixel size (µm/px) of each image is taken from, in this order: ``DIR/pixel_sizes.json``
(keys ``"class/file.png"`` or ``"file.png"``, and ``"default"`` for all others), a
``pixel_sizes.json`` inside the class folder (keys ``"file.png"`` and ``"default"``), the file's
own calibration (TIFF resolution tags, ImageJ / OME / SEM metadata, PNG density, read by
:func:`napari_microstructure.core.imageio.read_micrograph`), and finally ``default_pixel_size``.
An image with none of these is an error that names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..imageio import SUPPORTED_SUFFIXES, read_micrograph

PIXEL_SIZES_FILE = "pixel_sizes.json"


@dataclass
class Sample:
    """One labelled training image."""

    image: np.ndarray
    label: str
    pixel_size: float
    name: str = ""


def _read_json(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold an object mapping file names to µm per pixel")
    out: dict[str, float] = {}
    for key, value in data.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: pixel size of {key!r} is not a number: {value!r}") from exc
        if not out[str(key)] > 0:
            raise ValueError(f"{path}: pixel size of {key!r} must be > 0")
    return out


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def class_folders(root: str | Path) -> dict[str, list[Path]]:
    """Class name -> image files, for every sub-folder of ``root`` holding images."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"training folder not found: {root}")
    found = {d.name: image_files(d) for d in sorted(root.iterdir()) if d.is_dir()}
    found = {name: files for name, files in found.items() if files and not name.startswith(".")}
    if len(found) < 2:
        raise ValueError(
            f"{root} must hold at least two sub-folders of images, one per class "
            f"(found {len(found)})"
        )
    return found


def load_folder(root: str | Path, default_pixel_size: float | None = None) -> list[Sample]:
    """Read every image of a class-per-folder training set with its pixel size."""
    root = Path(root)
    folders = class_folders(root)
    top = _read_json(root / PIXEL_SIZES_FILE) if (root / PIXEL_SIZES_FILE).is_file() else {}
    samples: list[Sample] = []
    missing: list[str] = []
    for label, files in folders.items():
        local_file = root / label / PIXEL_SIZES_FILE
        local = _read_json(local_file) if local_file.is_file() else {}
        for path in files:
            rel = f"{label}/{path.name}"
            ps = top.get(rel, top.get(path.name, local.get(path.name)))
            mf = read_micrograph(path)
            if ps is None:
                ps = mf.pixel_size
            if ps is None:
                ps = local.get("default", top.get("default", default_pixel_size))
            if ps is None:
                missing.append(rel)
                continue
            samples.append(Sample(np.asarray(mf.image), label, float(ps), rel))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(
            f"no pixel size for {len(missing)} image(s) ({shown}); add them to "
            f"{root / PIXEL_SIZES_FILE} or give a default pixel size"
        )
    return samples
