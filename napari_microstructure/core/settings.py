"""Small persistent key/value settings (e.g. the last model a user picked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .paths import config_dir


def _file() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> dict[str, Any]:
    """Return all settings; an unreadable file counts as empty rather than failing."""
    try:
        return json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}


def get_setting(key: str, default: Any = None) -> Any:
    """Return one setting or ``default``."""
    return load_settings().get(key, default)


def set_setting(key: str, value: Any) -> None:
    """Store one setting, written atomically so a crash never leaves a half file."""
    data = load_settings()
    data[key] = value
    atomic_write_text(_file(), json.dumps(data, indent=2))
