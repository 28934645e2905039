"""Classify many image files into one table (one row per image)."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path

import pandas as pd

from ..imageio import ImageReadError, read_micrograph
from ..progress import Progress
from .dataset import FolderPixelSizes, image_files
from .model import NONE_OF_THESE, Classifier
from .predict import classify_image


def images_in(folder: str | Path) -> list[Path]:
    """Image files in ``folder`` and its sub-folders, sorted; hidden ones skipped, as in
    training (:func:`~.dataset.image_files`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder not found: {folder}")
    return image_files(folder)


def folder_pixel_sizes(folder: str | Path) -> FolderPixelSizes:
    """The ``pixel_sizes.json`` files of ``folder`` and its sub-folders, read as for training
    (:func:`~.dataset.load_folder`)."""
    return FolderPixelSizes(folder)


def classify_files(
    model: Classifier,
    paths: Sequence[str | Path],
    pixel_size: float | None = None,
    n_crops: int = 64,
    pixel_sizes: FolderPixelSizes | None = None,
) -> Generator[Progress, None, pd.DataFrame]:
    """Classify each file.

    The pixel size of a file is ``pixel_size`` when given, else the one ``pixel_sizes`` (from
    :func:`folder_pixel_sizes`) finds for it as in training, else the file's own calibration.

    Returns a DataFrame with columns ``file, predicted, pixel_size_um, <class>...,
    none_of_these, note``; a file that cannot be read gets a row with its error in ``note``, a
    file of several planes a note that plane 0 was classified, a file whose calibration was
    refused (non-square pixels, ...) the reason.
    """
    rows = []
    for i, path in enumerate(paths):
        row: dict = {"file": str(path)}
        try:
            if pixel_size or pixel_sizes is None:
                mf = read_micrograph(path, pixel_size=pixel_size or None)
            else:
                mf = pixel_sizes.read(path)
            pred = classify_image(model, mf.image, mf.pixel_size, n_crops=n_crops)
            # the file's note (a calibration refused: non-square pixels, ...) and, for a
            # stack, that its plane 0 was classified
            pred.warnings += [n for n in (mf.calibration_note, mf.plane_note("classified")) if n]
        except (ImageReadError, ValueError) as exc:
            row.update(predicted="", pixel_size_um=float("nan"), note=str(exc))
        else:
            row.update(predicted=pred.predicted, pixel_size_um=pred.pixel_size)
            row.update(pred.probabilities)
            row["note"] = "; ".join(pred.warnings)
        rows.append(row)
        yield Progress(i + 1, len(paths), f"classified {Path(path).name}")
    cols = ["file", "predicted", "pixel_size_um", *model.classes, NONE_OF_THESE, "note"]
    return pd.DataFrame(rows).reindex(columns=cols)
