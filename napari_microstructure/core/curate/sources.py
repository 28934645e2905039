"""Image sources: the files of a folder or arrays to rank for active learning (and those
skipped), and a source file's path as a project stores and compares it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..imageio import SUPPORTED_SUFFIXES

IMAGE_SUFFIXES = SUPPORTED_SUFFIXES  # the files read_micrograph reads

log = logging.getLogger(__name__)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_source(
    src: str | Path | np.ndarray,
    i: int,
    names: Sequence[str] | None = None,
    pixel_size: float | None = None,
) -> tuple[str, str, np.ndarray, float | None]:
    """``(path, name, pixels, pixel size)`` of the ``i``-th image to rank: a file (``pixel_size``
    overrides what it records) or an array (``path`` empty, named from ``names``)."""
    name = source_name(src, i, names)
    if isinstance(src, np.ndarray):
        return "", name, src, pixel_size
    from ..imageio import read_micrograph

    mf = read_micrograph(src, pixel_size=pixel_size)
    return str(src), name, mf.data, mf.pixel_size


def source_name(src: str | Path | np.ndarray, i: int, names: Sequence[str] | None) -> str:
    """The name of the ``i``-th image to rank: its file name, or ``names[i]`` for an array."""
    if isinstance(src, np.ndarray):
        return names[i] if names else f"image {i}"
    return Path(src).name


def folder_images(folder: str | Path) -> list[Path]:
    """The image files of ``folder`` to rank.

    Raises
    ------
    ValueError : the folder holds none.
    """
    paths = list_images(folder)
    if not paths:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return paths


def record_skip(
    skipped: list[dict[str, str]], src: str | Path | np.ndarray, label: str, exc: Exception
) -> str:
    """Log an image that cannot be scored and add it to ``skipped`` (a ranking's
    ``attrs["skipped"]``: path, name, error); returns the progress message."""
    why = str(exc) if label in str(exc) else f"{label}: {exc}"
    log.warning("skipped %s", why)
    where = "" if isinstance(src, np.ndarray) else str(src)
    skipped.append({"path": where, "name": label, "error": str(exc)})
    return f"skipped {why}"


def source_key(source: str | Path) -> str:
    """A source file as stored and compared: absolute, links resolved (a URL as given; a
    relative path of an older project is taken from the working folder)."""
    text = str(source)
    if "://" in text:
        return text
    try:
        return str(Path(text).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL character
        return text
