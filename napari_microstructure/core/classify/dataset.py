"""Training images: a folder with one sub-folder per class, each image with its pixel size.

Layout::

    DIR/
      ferrite/       a.tif  b.png  lab2/c.tif ...
      martensite/    ...
      pixel_sizes.json   (optional)

Images in nested folders of a class folder belong to that class. The pixel size (µm/px) of an
image comes from :class:`FolderPixelSizes`: a ``pixel_sizes.json`` entry naming the file beats
the file's own calibration (read by :func:`napari_microstructure.core.imageio.read_micrograph`),
which beats a ``"default"`` entry, which beats ``default_pixel_size``. An image with none of
these is an error that names it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..imageio import SUPPORTED_SUFFIXES, MicrographFile, read_micrograph
from ..progress import Progress, run_to_end

PIXEL_SIZES_FILE = "pixel_sizes.json"


@dataclass
class Sample:
    """One labelled training image.

    ``image`` is an array; the Classify dock's examples added from the viewer hold their
    layer's plane unread (a lazy image takes time) until its training worker reads it.
    """

    image: np.ndarray | Any
    label: str
    pixel_size: float
    name: str = ""
    note: str = ""  # the file's calibration note (a pixel size refused, e.g. non-square)


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
        if not (math.isfinite(out[str(key)]) and out[str(key)] > 0):  # json takes Infinity, NaN
            raise ValueError(
                f"{path}: pixel size of {key!r} must be a finite number > 0: {value!r}"
            )
    return out


class FolderPixelSizes:
    """Pixel sizes from the ``pixel_sizes.json`` files of a folder and its sub-folders.

    A file in folder ``F`` lists images by their path relative to ``F`` or by file name, and
    may give a ``"default"``. An image's listed size comes from the outermost file that names
    it; its default from the innermost file that has one.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._files = {
            p.parent: _read_json(p)
            for p in sorted(self.root.rglob(PIXEL_SIZES_FILE))
            if p.is_file()
        }

    def _chain(self, path: Path) -> list[tuple[Path, dict[str, float]]]:
        """The json files from the root down to ``path``'s folder."""
        if not path.parent.is_relative_to(self.root):
            return []
        rel_parts = path.parent.relative_to(self.root).parts
        folders = [self.root.joinpath(*rel_parts[:i]) for i in range(len(rel_parts) + 1)]
        return [(f, self._files[f]) for f in folders if f in self._files]

    def listed(self, path: str | Path) -> float | None:
        """The size a json file lists for ``path`` by name (beats the file's calibration)."""
        path = Path(path)
        for folder, sizes in self._chain(path):
            for key in (path.relative_to(folder).as_posix(), path.name):
                if key in sizes and key != "default":
                    return sizes[key]
        return None

    def default(self, path: str | Path) -> float | None:
        """The nearest ``"default"`` above ``path``."""
        for _, sizes in reversed(self._chain(Path(path))):
            if "default" in sizes:
                return sizes["default"]
        return None

    def read(self, path: str | Path, fallback: float | None = None) -> MicrographFile:
        """Read ``path``; its pixel size is the listed one, its own, the default or
        ``fallback``, in that order (None when there is none)."""
        mf = read_micrograph(path, pixel_size=self.listed(path))
        if mf.pixel_size is None:
            default = self.default(path)
            mf.pixel_size = default if default is not None else fallback
            mf.source = "none" if mf.pixel_size is None else "override"
            if mf.calibration_note and mf.pixel_size is not None:  # refused: not silently
                where = (
                    f'the "default" of {PIXEL_SIZES_FILE}'
                    if default is not None
                    else "the pixel size given for images without one"
                )
                mf.calibration_note += f"; {where} ({mf.pixel_size:g} µm/px) was used instead"
        return mf


def sample_notes(samples: Sequence[Sample]) -> list[str]:
    """The file notes of ``samples`` (a calibration refused, ...), each with its image's name,
    for the training record's warnings."""
    return [f"{s.name or s.label}: {s.note}" for s in samples if s.note]


def image_files(folder: Path) -> list[Path]:
    """Image files in ``folder`` and its sub-folders (hidden ones skipped), sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def class_folders(root: str | Path) -> dict[str, list[Path]]:
    """Class name -> image files, for every sub-folder of ``root`` holding images."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"training folder not found: {root}")
    found = {
        d.name: image_files(d)
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    }
    found = {name: files for name, files in found.items() if files}
    if len(found) < 2:
        raise ValueError(
            f"{root} must hold at least two sub-folders of images, one per class "
            f"(found {len(found)})"
        )
    return found


def load_folder(root: str | Path, default_pixel_size: float | None = None) -> list[Sample]:
    """Read every image of a class-per-folder training set with its pixel size."""
    return run_to_end(load_folder_steps(root, default_pixel_size))


def load_folder_steps(
    root: str | Path, default_pixel_size: float | None = None
) -> Generator[Progress, None, list[Sample]]:
    """:func:`load_folder` as a generator yielding a Progress per image read."""
    root = Path(root)
    folders = class_folders(root)
    sizes = FolderPixelSizes(root)
    samples: list[Sample] = []
    missing: list[str] = []
    n = sum(len(files) for files in folders.values())
    for label, files in folders.items():
        for path in files:
            rel = path.relative_to(root).as_posix()
            mf = sizes.read(path, default_pixel_size)
            yield Progress(len(samples) + len(missing) + 1, n, f"reading {rel}")
            if mf.pixel_size is None:
                missing.append(rel)
                continue
            samples.append(
                Sample(np.asarray(mf.image), label, float(mf.pixel_size), rel, mf.calibration_note)
            )
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(
            f"no pixel size for {len(missing)} image(s) ({shown}); add them to "
            f"{root / PIXEL_SIZES_FILE} or give a default pixel size"
        )
    return samples
