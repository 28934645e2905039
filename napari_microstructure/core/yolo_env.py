"""Offline configuration for ultralytics, applied before it is first imported.

ultralytics probes DNS at import, downloads ``Arial.ttf`` when plotting and keeps its settings
in the user's home. Here every one of those is pointed at a folder of this project and the
network paths are switched off, so importing and using ultralytics never reaches for the net.
"""

from __future__ import annotations

import os
import shutil
from importlib.util import find_spec
from pathlib import Path

from .paths import cache_dir

_FONTS = ("Arial.ttf", "Arial.Unicode.ttf")


def _bundled_ttf() -> Path | None:
    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        ttf = Path(root) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if ttf.is_file():
            return ttf
    return None


def configure_offline() -> Path:
    """Set ultralytics' environment for offline use and return its config folder.

    Safe to call many times; it must run before ``import ultralytics`` to stop the DNS probe.
    """
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    cfg = Path(os.environ.get("YOLO_CONFIG_DIR") or cache_dir() / "ultralytics")
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    font_dir = cfg / "Ultralytics"
    font_dir.mkdir(parents=True, exist_ok=True)
    src = _bundled_ttf()
    for name in _FONTS:
        dst = font_dir / name
        if src is not None and not dst.exists():
            shutil.copyfile(src, dst)
    return cfg


def yolo_settings_offline() -> None:
    """Point ultralytics' own folders at the project's cache and disable its telemetry."""
    from ultralytics.utils import SETTINGS

    root = Path(os.environ["YOLO_CONFIG_DIR"])
    wanted = {
        "sync": False,
        "datasets_dir": str(root / "datasets"),
        "weights_dir": str(root / "weights"),
        "runs_dir": str(root / "runs"),
    }
    changed = {k: v for k, v in wanted.items() if k in SETTINGS and SETTINGS[k] != v}
    if changed:
        SETTINGS.update(changed)
