"""Helpers for the screenshot scripts: a napari viewer on Xvfb and a PNG in docs/images/.

Each ``shot_<page>.py`` builds a realistic scene with the plugin and calls :func:`save`.
Run them all with ``python docs/_scripts/make_all.py`` (it starts Xvfb when no display is set).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# the docks remember their settings; screenshots start from the defaults, not this machine's
os.environ["NAPARI_MICROSTRUCTURE_CONFIG"] = tempfile.mkdtemp(prefix="shots-config-")
atexit.register(shutil.rmtree, os.environ["NAPARI_MICROSTRUCTURE_CONFIG"], True)


def scratch_dir(prefix: str) -> Path:
    """A temporary folder for a shot's files, removed when the script ends."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


IMAGES = Path(__file__).resolve().parents[1] / "images"


def open_viewer(width: int = 1400, height: int = 900):
    """A shown napari viewer of a fixed window size."""
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(width, height)  # size only; no public API for it
    return viewer


def settle(viewer, ms: int = 300) -> None:
    """Let Qt paint (and workers deliver) before a screenshot."""
    from qtpy.QtCore import QCoreApplication, QElapsedTimer

    timer = QElapsedTimer()
    timer.start()
    while timer.elapsed() < ms:
        QCoreApplication.processEvents()


def wait_worker(widget, timeout_ms: int = 600_000) -> None:
    """Block (processing events) until a widget's worker has finished."""
    from qtpy.QtCore import QCoreApplication, QElapsedTimer

    timer = QElapsedTimer()
    timer.start()
    while widget.busy and timer.elapsed() < timeout_ms:
        QCoreApplication.processEvents()
    settle(widget.viewer, 200)


def save(viewer, name: str) -> Path:
    """Screenshot the whole window to docs/images/<name>.png and close the viewer."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    settle(viewer)
    path = IMAGES / f"{name}.png"
    viewer.screenshot(path=str(path), canvas_only=False)
    viewer.close()
    return path
