"""Which files a batch run takes, where each one's results go, and when a new file is complete."""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass
from pathlib import Path

RESULT_NAME = "result.json"
IMAGES_DIR = "images"


@dataclass(frozen=True)
class BatchInput:
    """One input file: its path and the key naming its result folder (unique within the run)."""

    path: Path
    key: str


def _key(path: Path, root: Path | None) -> str:
    rel = path.relative_to(root) if root is not None else Path(path.name)
    return "__".join(rel.parts)


def list_inputs(
    source: str | Path, recursive: bool = False, exclude: Path | None = None
) -> list[BatchInput]:
    """Every file of a folder (or matching a glob pattern), sorted, hidden files left out.

    Unsupported files are *not* filtered here: the run records them as error rows, so a user
    sees that they were skipped and why. ``exclude`` (the output folder) is never listed.
    """
    text = str(source)
    src = Path(text).expanduser()
    if src.is_dir():
        root = src
        pattern = "**/*" if recursive else "*"
        paths = [p for p in src.glob(pattern) if p.is_file()]
    elif any(ch in text for ch in "*?["):
        paths = [Path(p) for p in glob.glob(os.path.expanduser(text), recursive=recursive)]
        paths = [p for p in paths if p.is_file()]
        root = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else None
    elif src.is_file():
        paths, root = [src], src.parent
    else:
        raise FileNotFoundError(f"{source}: no such folder, file or matching pattern")
    excl = exclude.resolve() if exclude is not None else None
    out = []
    for p in sorted(paths):
        if any(part.startswith(".") for part in p.relative_to(root).parts if root is not None):
            continue
        if excl is not None and (p.resolve() == excl or excl in p.resolve().parents):
            continue
        out.append(BatchInput(p, _key(p, root)))
    return out


def result_dir(out_dir: Path, key: str) -> Path:
    """Folder of one image's results."""
    return Path(out_dir) / IMAGES_DIR / key


def is_done(out_dir: Path, key: str) -> bool:
    """True when the image's result was written (the last, atomic step of its processing)."""
    return (result_dir(out_dir, key) / RESULT_NAME).is_file()


class CompletionTracker:
    """Decides when a file that a microscope is still writing is complete.

    A file counts as complete once its size and modification time have not changed for
    ``settle_s`` seconds (and it is not empty): acquisition software writes a file in pieces,
    and reading it too early gives a truncated image.
    """

    def __init__(self, settle_s: float = 2.0) -> None:
        self.settle_s = settle_s
        self._seen: dict[Path, tuple[int, float, float]] = {}

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
            return False
        return st.st_size > 0 and now - prev[2] >= self.settle_s
