"""Test settings: every user folder (napari, ultralytics, our caches) inside a temp folder,
removed when the run ends."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="nms-tests-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)  # a run leaves nothing in /tmp
for _var, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("NAPARI_MICROSTRUCTURE_CONFIG", "config/napari-microstructure"),
    ("NAPARI_MICROSTRUCTURE_CACHE", "cache/napari-microstructure"),
    ("YOLO_CONFIG_DIR", "cache/napari-microstructure/ultralytics"),
    ("MPLCONFIGDIR", "mpl"),
):
    os.environ[_var] = str(_HOME / _sub)
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402


@pytest.fixture
def settings_home(tmp_path, monkeypatch) -> Path:
    """A fresh settings folder for one test (remembered paths start empty)."""
    cfg = tmp_path / "config"
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CONFIG", str(cfg))
    return cfg


@pytest.fixture
def wait_idle(qtbot):
    """``wait_idle(widget, timeout_ms)``: wait until a worker widget has handled its last run.

    Waiting for ``worker.finished`` after the widget has started the worker misses a worker
    that finished before the wait was connected (seen under load); ``busy`` is set before the
    start and cleared only when the result, error or cancel has been handled.
    """

    def wait(widget, timeout: int = 60_000) -> None:
        qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)

    return wait
