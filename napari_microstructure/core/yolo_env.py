"""Offline configuration for ultralytics, applied before it is first imported.

ultralytics probes DNS at import, downloads ``Arial.ttf`` when plotting and keeps its settings
in the user's home. Here every one of those is pointed at a folder of this project and the
network paths are switched off, so importing and using ultralytics never reaches for the net.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from .paths import cache_dir

log = logging.getLogger(__name__)

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
    os.environ["YOLO_AUTOINSTALL"] = "False"  # never pip-install a missing requirement
    os.environ.setdefault("YOLO_VERBOSE", "False")
    cfg = Path(os.environ.get("YOLO_CONFIG_DIR") or cache_dir() / "ultralytics")
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    font_dir = cfg / "Ultralytics"
    try:
        font_dir.mkdir(parents=True, exist_ok=True)
        src = _bundled_ttf()
        for name in _FONTS:
            dst = font_dir / name
            if src is not None and not dst.exists():
                shutil.copyfile(src, dst)
    except OSError as exc:  # a read-only folder: plots may lack their font, nothing else
        log.warning("cannot write ultralytics' fonts to %s: %s", font_dir, exc)
    return cfg


def yolo_settings_offline() -> None:
    """Point ultralytics' own folders at the project's cache, disable its telemetry and keep
    its training's AMP check from downloading a reference model.

    When ultralytics was imported before this package (so its settings file is the user's own,
    not the one in our folder), the settings change in this process only: the user's file is
    never rewritten.
    """
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
        file = Path(getattr(SETTINGS, "file", "") or getattr(SETTINGS, "file_path", ""))
        if file.resolve().is_relative_to(root.resolve()):
            SETTINGS.update(changed)
        else:
            dict.update(SETTINGS, changed)  # in memory: JSONDict.update would save the file
    _offline_amp_check()


#: GPUs on which mixed precision is known to give NaN losses (ultralytics' check turns AMP off)
_AMP_UNSAFE = re.compile(r"(1630|1650|1660|T400|T550|T600|T1000|T1200|T2000|K40m)", re.I)


def _offline_amp_check() -> None:
    """Replace the trainer's AMP check, which downloads a YOLO model to compare FP32 and AMP
    outputs, by one that needs no file unless that model is already on disk."""
    import ultralytics.engine.trainer as trainer

    original = getattr(trainer.check_amp, "__wrapped__", trainer.check_amp)

    def check_amp(model: Any) -> bool:
        import torch
        from ultralytics import utils

        device = next(model.parameters()).device
        if device.type != "cuda" or (Path(utils.WEIGHTS_DIR) / "yolo26n.pt").is_file():
            return bool(check_amp.__wrapped__(model))  # no download: not CUDA, or it is there
        return not _AMP_UNSAFE.search(torch.cuda.get_device_name(device))

    check_amp.__wrapped__ = original  # type: ignore[attr-defined]
    trainer.check_amp = check_amp


def import_ultralytics() -> None:
    """Import ultralytics with the project's offline settings (``configure_offline`` ran at
    the package's import, before ultralytics could be imported through it)."""
    import ultralytics  # noqa: F401

    yolo_settings_offline()
