"""Test settings: every user folder (napari, ultralytics, our caches) inside a temp folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="nms-tests-"))
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
