"""The messages a dock shows (``show_error``, ``show_warning``, ``show_info``), captured."""

from __future__ import annotations

from typing import Any


def captured_messages(monkeypatch: Any, *modules: Any) -> list[str]:
    """Replace the notification functions the ``modules`` imported; returns the list that
    collects their messages, in order."""
    shown: list[str] = []
    for module in modules:
        for name in ("show_error", "show_warning", "show_info"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, shown.append)
    return shown


#: the modules of the Curate dock that show messages
CURATE_PARTS = ("curate", "_curate_reopen", "_curate_resume", "_curate_panels", "_curate_train")


def curate_messages(monkeypatch: Any) -> list[str]:
    """What the Curate dock and its parts (its autosave too) show, in order."""
    import importlib

    names = (*CURATE_PARTS, "_autosave")
    modules = [importlib.import_module(f"napari_microstructure.widgets.{n}") for n in names]
    return captured_messages(monkeypatch, *modules)
