"""Helpers shared by sub-commands: JSON output and image loading with clear errors."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import CLIError


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    """Replace NaN/inf by None so the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def print_json(data: Any) -> None:
    """Print ``data`` as indented, strict JSON on stdout."""
    text = json.dumps(
        _clean(json.loads(json.dumps(data, default=_default))), indent=2, ensure_ascii=False
    )
    sys.stdout.write(text + "\n")


def output_stems(paths: list[str]) -> list[str]:
    """One file stem per input, distinct: the file's stem, with -2, -3, ... added to the later
    ones of inputs that share it (a/x.png and b/x.png, or x.png and x.tif)."""
    taken = {Path(p).stem.lower() for p in paths}
    seen: set[str] = set()
    out = []
    for p in paths:
        stem = Path(p).stem
        name, k = stem, 1
        while name.lower() in seen or (k > 1 and name.lower() in taken):
            k += 1
            name = f"{stem}-{k}"
        seen.add(name.lower())
        out.append(name)
    return out


def number_or_nan(text: str) -> float:
    """``text`` as a float, NaN when it is no number (for argparse types to refuse)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def pixel_size_arg(text: str) -> float:
    """argparse type of ``--pixel-size``: a positive, finite number of µm per pixel."""
    import argparse

    value = number_or_nan(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a positive, finite number of µm per pixel, got {text!r}"
        )
    return value


@contextmanager
def writing(target: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` while writing ``target`` (a folder there, a file where its folder
    should be, no room) into a :class:`CLIError` that names ``target``, not a traceback."""
    try:
        yield
    except OSError as exc:
        why = exc.strerror or str(exc)
        # os.replace(temp, target) names the target second; mkdir names the parent in the way
        culprit = exc.filename2 if exc.filename2 is not None else exc.filename
        if culprit is not None and os.path.abspath(culprit) != os.path.abspath(target):
            why = f"{why}: {culprit}"
        raise CLIError(f"cannot write output {target}: {why}") from exc
