"""Folders the project owns: settings, caches and ultralytics' configuration."""

from __future__ import annotations

import os
from pathlib import Path

APP = "napari-microstructure"


def _folder(override: str, xdg: str, default: str) -> Path:
    env = os.environ.get(override)
    base = Path(env) if env else Path(os.environ.get(xdg, Path.home() / default)) / APP
    base.mkdir(parents=True, exist_ok=True)
    return base


def cache_dir() -> Path:
    """Folder for caches (embeddings, ultralytics runs); ``$NAPARI_MICROSTRUCTURE_CACHE`` wins."""
    return _folder("NAPARI_MICROSTRUCTURE_CACHE", "XDG_CACHE_HOME", ".cache")


def config_dir() -> Path:
    """Folder for user settings (remembered models); ``$NAPARI_MICROSTRUCTURE_CONFIG`` wins."""
    return _folder("NAPARI_MICROSTRUCTURE_CONFIG", "XDG_CONFIG_HOME", ".config")
