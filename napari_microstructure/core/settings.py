"""Small persistent key/value settings (e.g. the last model a user picked).

The file may be edited by hand (the docs name settings to add). What the plugin cannot use is
left out, never fatal: a file that is not valid JSON counts as empty and is kept as
``settings.json.bad`` before the first write replaces it; a value of the wrong type reads as
its default; a folder that cannot be written costs the remembering only.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text, folder_lock
from .paths import config_dir

log = logging.getLogger(__name__)
LOCK = ".settings.lock"

_told: set[str] = set()  # problems already told this session
#: called with each problem's text, once (the docks show it in napari's notifications)
listeners: list[Callable[[str], None]] = []


def _file() -> Path:
    return (config_dir() / "settings.json").resolve()  # a linked file stays linked


def _tell(problem: str) -> None:
    if problem not in _told:
        _told.add(problem)
        log.warning("%s", problem)
        for listener in listeners:
            listener(problem)


def _read() -> tuple[dict[str, Any], bool]:
    """The settings, and whether the file exists but could not be used."""
    path = _file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, False
    except (OSError, ValueError) as exc:
        _tell(f"settings file {path} cannot be read ({exc}); the defaults are used")
        return {}, path.exists()
    if not isinstance(data, dict):
        _tell(f"settings file {path} does not hold a mapping; the defaults are used")
        return {}, True
    return data, False


def load_settings() -> dict[str, Any]:
    """Return all settings; an unreadable file counts as empty rather than failing."""
    return _read()[0]


def _kind_matches(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, type(default))


def get_setting(key: str, default: Any = None) -> Any:
    """Return one setting or ``default``; with a ``default`` other than None, a stored value of
    another type (a hand edit gone wrong) reads as ``default``."""
    value = load_settings().get(key, default)
    if default is not None and not _kind_matches(value, default):
        _tell(f"setting {key!r} is not a {type(default).__name__}; its default is used")
        return default
    return value


def get_section(key: str, like: dict[str, Any]) -> dict[str, Any]:
    """The mapping stored under ``key``, entry by entry as in :func:`get_setting`: the keys of
    ``like``, each the stored value when it has the type of ``like``'s (a None in ``like``
    takes text), else ``like``'s."""
    stored = load_settings().get(key)
    if not isinstance(stored, dict):
        if stored is not None:
            _tell(f"setting {key!r} is not a mapping; its defaults are used")
        stored = {}
    out = {}
    for name, default in like.items():
        value = stored.get(name, default)
        if default is None:  # a path: text or nothing
            fits = value is None or isinstance(value, str)
        else:
            fits = _kind_matches(value, default)
        if not fits:
            _tell(f"setting {key}.{name} has the wrong type; its default is used")
            value = default
        out[name] = value
    return out


def set_setting(key: str, value: Any) -> bool:
    """Store one setting, written atomically so a crash never leaves a half file; returns
    whether it was written (a read-only or full folder is logged, not raised). Read, change
    and write hold a lock, so two viewers saving at once keep each other's keys."""
    path = _file()
    try:
        with folder_lock(config_dir() / LOCK):
            data, unusable = _read()
            if unusable:  # keep the user's hand-edited file before it is replaced
                shutil.copyfile(path, path.with_name(path.name + ".bad"))
                _tell(f"the unreadable settings file was kept as {path.name}.bad")
            data[key] = value
            atomic_write_text(path, json.dumps(data, indent=2))
    except OSError as exc:
        _tell(f"settings cannot be saved to {path} ({exc}); they are not remembered")
        return False
    return True
