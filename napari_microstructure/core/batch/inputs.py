"""Which files a batch run takes, where each one's results go, and when a new file is complete."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT_NAME = "result.json"
IMAGES_DIR = "images"


@dataclass(frozen=True)
class BatchInput:
    """One input file: its path and the key naming its result folder (unique within the run)."""

    path: Path
    key: str


WILDCARDS = "*?["
SEP = "__"  # joins the parts of a path in sub-folders: a/b.tif -> a__b.tif
_MARKERS = ("%25", "%5f")


def _plain(part: str, first: bool, last: bool) -> bool:
    """True when ``part`` can go into a key as it is without making two keys equal."""
    low = part.lower()
    return (
        SEP not in part
        and (first or not part.startswith("_"))
        and (last or not part.endswith("_"))
        and not any(m in low for m in _MARKERS)
    )


#: longest key in bytes: a folder name may have 255 on common file systems (keys up to that
#: are kept as they are, so earlier runs resume)
MAX_KEY_BYTES = 255


def _key(rel: Path) -> str:
    """The result folder name of ``rel`` (relative to the input root), one per path.

    Parts are joined with ``__``; a part that could make that ambiguous (``a__b.tif`` at the
    top would otherwise have the key of ``a/b.tif``) has its ``%`` and ``_`` percent-escaped.
    Ordinary names keep the keys of earlier runs, so resuming them still skips their images.
    A key too long for a folder name keeps its end (the file name) after a hash of the whole.
    """
    parts, n = rel.parts, len(rel.parts)
    key = SEP.join(
        part if _plain(part, i == 0, i == n - 1) else part.replace("%", "%25").replace("_", "%5F")
        for i, part in enumerate(parts)
    )
    raw = os.fsencode(key)  # a name that is not valid UTF-8 holds surrogate escapes
    if len(raw) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha1(raw).hexdigest()[:16]
    tail = raw[-(MAX_KEY_BYTES - 20) :].lstrip(bytes(range(0x80, 0xC0)))  # no cut character
    return f"~{digest}~{os.fsdecode(tail)}"


def readable(text: str) -> str:
    """``text`` with the bytes of a file name that are not valid UTF-8 written ``\\xNN``.

    Such names reach Python as surrogate escapes, which cannot be written as UTF-8 text
    (results.csv, report.html, result.json); valid names are returned unchanged.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def pattern_root(pattern: str) -> Path:
    """The leading folders of a glob ``pattern`` without wildcards: keys are relative to it."""
    parts = Path(os.path.expanduser(pattern)).parts
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in WILDCARDS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def input_root(source: str | Path) -> Path:
    """The folder the keys of ``source``'s files are relative to."""
    src = Path(str(source)).expanduser()
    if src.is_dir():
        return src
    if src.is_file():
        return src.parent
    return pattern_root(str(source)) if any(ch in str(source) for ch in WILDCARDS) else src


def list_inputs(
    source: str | Path, recursive: bool = False, exclude: Path | None = None
) -> list[BatchInput]:
    """Every file of a folder (or matching a glob pattern), sorted, hidden files left out.

    Unsupported files are *not* filtered here: the run records them as error rows, so a user
    sees that they were skipped and why. ``exclude`` (the output folder) is never listed.
    Raises FileNotFoundError for a missing path or a pattern that matches no file.
    """
    text = str(source)
    src = Path(text).expanduser()
    root = input_root(source)
    if src.is_dir():
        paths = [p for p in src.glob("**/*" if recursive else "*") if p.is_file()]
    elif src.is_file():  # before the pattern test: a file may be called scan[1].tif
        paths = [src]
    elif any(ch in text for ch in WILDCARDS):
        # keys relative to the pattern's fixed folders, not the matches' common parent: that
        # moves when a new sub-folder starts matching
        paths = [Path(p) for p in glob.glob(os.path.expanduser(text), recursive=recursive)]
        paths = [p for p in paths if p.is_file()]
    else:
        paths = []
    if not paths and not src.is_dir():
        raise FileNotFoundError(f"{source}: no such folder, file or matching pattern")
    excl = exclude.resolve() if exclude is not None else None
    out = []
    for p in sorted(paths):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if excl is not None and (p.resolve() == excl or excl in p.resolve().parents):
            continue
        out.append(BatchInput(p, _key(rel)))
    return out


def result_dir(out_dir: Path, key: str) -> Path:
    """Folder of one image's results."""
    return Path(out_dir) / IMAGES_DIR / key


def finished(out_dir: Path, key: str) -> dict[str, Any] | None:
    """The image's result when it was written (the last, atomic step of its processing) and
    can be read, else None: a damaged one (a disk error, a hand edit) is done again, not
    skipped with no row in ``results.csv``."""
    return _read_result(result_dir(out_dir, key) / RESULT_NAME)


def result_source(row: dict[str, Any]) -> str | None:
    """The file (resolved path, :func:`readable`) a finished result was made from; None when
    not recorded."""
    source = row.get("source")
    return source if isinstance(source, str) else None


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        row = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) else None


def source_id(path: Path) -> str:
    """How a finished result names the file it was made from: resolved and :func:`readable`."""
    return readable(str(Path(path).resolve()))


def finished_sources(out_dir: Path) -> dict[str, str]:
    """The file each finished result of ``out_dir`` was made from -> its key (read once)."""
    found = {}
    for path in sorted((Path(out_dir) / IMAGES_DIR).glob(f"*/{RESULT_NAME}")):
        row = _read_result(path)
        source = result_source(row) if row is not None else None
        if source:
            found.setdefault(source, path.parent.name)
    return found


class CompletionTracker:
    """Decides when a file that a microscope is still writing is complete.

    A file counts as complete once its size and modification time have not changed for
    ``settle_s`` seconds (and it is not empty): acquisition software writes a file in pieces,
    and reading it too early gives a truncated image. A file still empty after ``empty_s``
    seconds is told once by :meth:`long_empty` (it is never read while empty).
    """

    def __init__(self, settle_s: float = 2.0, empty_s: float = 60.0) -> None:
        self.settle_s = settle_s
        self.empty_s = empty_s
        self._seen: dict[Path, tuple[int, float, float]] = {}
        self._told_empty: set[Path] = set()

    def complete(self, path: Path, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        try:
            st = path.stat()
        except OSError:
            self._seen.pop(path, None)
            return False
        sig = (st.st_size, st.st_mtime)
        prev = self._seen.get(path)
        if prev is None or prev[:2] != sig:
            self._seen[path] = (*sig, now)
            self._told_empty.discard(path)
            return False
        return st.st_size > 0 and now - prev[2] >= self.settle_s

    def long_empty(self, path: Path, now: float | None = None) -> bool:
        """True once for a file seen empty, unchanged, for ``empty_s`` seconds (by
        :meth:`complete`); again only after it changed."""
        now = time.monotonic() if now is None else now
        seen = self._seen.get(path)
        if seen is None or seen[0] or path in self._told_empty or now - seen[2] < self.empty_s:
            return False
        self._told_empty.add(path)
        return True
