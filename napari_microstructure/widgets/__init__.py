"""Dock widgets: thin adapters between napari layers and :mod:`napari_microstructure.core`."""

import threading

from napari.utils.notifications import show_warning

from ..core import settings as _settings


def _settings_problem(text: str) -> None:
    if threading.current_thread() is threading.main_thread():  # else only logged
        show_warning(f"Settings: {text}")


_settings.listeners.append(_settings_problem)
