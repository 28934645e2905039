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
