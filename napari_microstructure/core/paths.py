"""Folders the project owns: settings, caches and ultralytics' configuration."""

from __future__ import annotations

import os
from pathlib import Path

APP = "napari-microstructure"


def cache_dir() -> Path:
    """Folder for caches (embeddings, ultralytics runs); ``$NAPARI_MICROSTRUCTURE_CACHE`` wins."""
    env = os.environ.get("NAPARI_MICROSTRUCTURE_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / APP
    base.mkdir(parents=True, exist_ok=True)
    return base


def config_dir() -> Path:
    """Folder for user settings (remembered model paths and the like)."""
    env = os.environ.get("NAPARI_MICROSTRUCTURE_CONFIG")
    base = (
        Path(env) if env else Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / APP
    )
    base.mkdir(parents=True, exist_ok=True)
    return base
