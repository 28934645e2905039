"""Crash-safe file writes: a temp file in the same folder, fsync, then ``os.replace``.

A reader (or a process restarted after a kill or a full disk) sees either the old complete file
or the new complete file, never a half-written one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .features_table import FEATURES_FORMAT, features_from_json, features_json


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it; done once, at import
    os.umask(mask)
    return mask


#: the mode of a new file under the process's umask (mkstemp makes its files 0600)
NEW_FILE_MODE = 0o666 & ~_read_umask()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """Open a binary temp file beside ``path``; on a clean exit it replaces ``path``.

    Streaming writers (``np.save``, ``torch.save``, ``tifffile.imwrite``) write into it without
    holding the whole file in memory. On any error the old file is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:  # a named file: tifffile needs ``fh.name``
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:  # the mode a plain write would give: the old file's, else the umask's
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; on any error the old file is left untouched."""
    with atomic_file(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Serialise ``obj`` as indented JSON and write it atomically."""
    text = json.dumps(obj, indent=1, sort_keys=False, allow_nan=False)
    return atomic_write_bytes(path, text.encode("utf-8"))


#: the ImageDescription of a TIFF of labels (ids or classes) the plugin wrote: the reader opens
#: it as labels whatever its integer type (a uint8 class map too)
LABELS_MARK = "napari-microstructure labels"

#: the private TIFF tag (in the range TIFF leaves to any writer) holding a labels layer's
#: features table as JSON (:func:`.features_table.features_json`). The ImageDescription
#: stays exactly :data:`LABELS_MARK`, so such a file still opens as labels where features
#: are unknown.
FEATURES_TAG = 65123


def atomic_write_tiff(
    path: str | Path,
    array: np.ndarray,
    pixel_size: float | None = None,
    labels: bool = False,
    photometric: str | None = None,
    features: Any = None,
) -> Path:
    """Write an array as a zlib-compressed TIFF atomically, streamed (dtype and values kept
    exactly); with ``pixel_size`` (µm) its resolution tags say it, so the file opens (and is
    measured) in µm again; ``labels`` marks it as labels (:data:`LABELS_MARK`);
    ``photometric="minisblack"`` says a stack's planes are grey (left to guess, tifffile
    stores 3 or 4 planes as one RGB image); ``features`` (a table of columns, a labels layer's
    ``features``) goes into :data:`FEATURES_TAG`, read back by :func:`written_features`.

    The fastest zlib level, strips compressed on every core: a micrograph with camera noise
    hardly compresses at any level (a noisy 10000 x 10000 px image: 81 of 100 MB at levels 1
    and 6), and the default level took 1.4 s per 100 Mpx to write, level 1 0.9 s."""
    import tifffile

    kw: dict[str, Any] = {
        "compression": "zlib",
        "compressionargs": {"level": 1},
        "maxworkers": os.cpu_count() or 1,
    }
    if pixel_size:
        kw.update(resolution=(1e4 / pixel_size, 1e4 / pixel_size), resolutionunit="CENTIMETER")
    if labels:
        kw["description"] = LABELS_MARK
    if photometric:
        kw["photometric"] = photometric
    text = None if features is None else features_json(features)
    if text is not None:
        kw["extratags"] = [(FEATURES_TAG, "s", 0, text, True)]  # first page only
    with atomic_file(path) as fh:
        tifffile.imwrite(fh, np.asarray(array), **kw)
    return Path(path)


def written_as_labels(path: str | Path) -> bool:
    """Whether a TIFF carries :data:`LABELS_MARK` (False for any other file)."""
    import tifffile

    try:
        with tifffile.TiffFile(str(path)) as tif:
            page = tif.pages.first
            return LABELS_MARK in (page.description, page.description1)
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):
        return False


def written_features(path: str | Path) -> Any:
    """The features table (a DataFrame) a TIFF carries in :data:`FEATURES_TAG`; None when it
    carries none (or is no TIFF). Raises ValueError when the table is there but unreadable."""
    import tifffile

    try:
        with tifffile.TiffFile(str(path)) as tif:
            tag = tif.pages.first.tags.get(FEATURES_TAG)
            text = None if tag is None else tag.value
    except (OSError, ValueError, IndexError, tifffile.TiffFileError):
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # the tag is free for any writer to use: only ours is read
    if not isinstance(text, str) or FEATURES_FORMAT not in text[:100]:
        return None
    try:
        return features_from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"its features table is damaged ({exc})") from exc


def read_tiff(path: str | Path) -> np.ndarray:
    """Read a TIFF written by :func:`atomic_write_tiff`."""
    import tifffile

    return tifffile.imread(str(path))


def is_older(path: Path, seconds: float) -> bool:
    """Whether ``path`` was last modified at least ``seconds`` ago (False if it is gone)."""
    try:
        return time.time() - path.stat().st_mtime >= seconds
    except OSError:
        return False


def remove_stale_temps(folder: str | Path, older_than: float = 0.0, recursive: bool = True) -> int:
    """Delete temp files left by an interrupted write (kill, full disk), in ``folder`` and,
    ``recursive``, its sub-folders.

    ``older_than`` (seconds) spares the temps of a write that may still be running elsewhere.
    """
    n = 0
    found = Path(folder).rglob(".*.tmp") if recursive else Path(folder).glob(".*.tmp")
    for tmp in found:
        if not is_older(tmp, older_than):
            continue
        try:
            tmp.unlink()
            n += 1
        except OSError:
            pass
    return n


@contextmanager
def folder_lock(path: str | Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on the file ``path`` (created if missing) across processes.

    Yields whether the lock is held: always True with ``wait``; with ``wait=False``, False when
    another process or object holds it. Where file locks are not available, yields ``wait``
    (writers go on unlocked; a non-waiting caller must assume the lock is taken).

    The folder of ``path`` must exist: it is never created (a project folder moved away while
    open must not come back holding only a lock file). A missing folder raises
    FileNotFoundError with ``wait`` and yields False without.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        yield wait
        return
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only or missing folder: nobody saves there
        if wait:
            raise
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
