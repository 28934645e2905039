"""Folders the project owns: settings, caches and ultralytics' configuration."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

APP = "napari-microstructure"
log = logging.getLogger(__name__)


def _folder(override: str, xdg: str, default: str) -> Path:
    env = os.environ.get(override)
    base = Path(env) if env else Path(os.environ.get(xdg, Path.home() / default)) / APP
    try:
        base.mkdir(parents=True, exist_ok=True)
        return base
    except OSError as exc:  # read-only home, a file in the way: work on, in a temp folder
        spare = Path(tempfile.gettempdir()) / f"{APP}-{_user()}" / default.lstrip(".")
        if base not in _told:
            _told.add(base)
            log.warning("cannot use %s (%s); using %s for this session", base, exc, spare)
        spare.mkdir(parents=True, exist_ok=True)
        return spare


_told: set[Path] = set()


def _user() -> str:
    try:
        return str(os.getuid())
    except AttributeError:  # Windows
        return os.environ.get("USERNAME", "user")


def cache_dir() -> Path:
    """Folder for caches (embeddings, ultralytics runs); ``$NAPARI_MICROSTRUCTURE_CACHE`` wins."""
    return _folder("NAPARI_MICROSTRUCTURE_CACHE", "XDG_CACHE_HOME", ".cache")


def config_dir() -> Path:
    """Folder for user settings (remembered models); ``$NAPARI_MICROSTRUCTURE_CONFIG`` wins."""
    return _folder("NAPARI_MICROSTRUCTURE_CONFIG", "XDG_CONFIG_HOME", ".config")
