"""Start napari with every widget of the plugin docked and a sample micrograph open.

``python -m napari_microstructure.app [IMAGE ...]`` opens the given micrographs, or the etched
sample when none is given. This is the "main job" of the README.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import napari
    from qtpy.QtCore import QRect
    from qtpy.QtWidgets import QDockWidget

log = logging.getLogger(__name__)

PLUGIN = "napari-microstructure"
# Docked in this order; widgets added to the manifest later are docked after them.
PREFERRED = [
    "Pixel size",
    "Detect",
    "Refine",
    "Segment",
    "Measure",
    "Explain",
    "Classify",
    "Curate",
]


def widget_names() -> list[str]:
    """Display names of the plugin's widgets, in docking order."""
    from npe2 import PluginManager

    manifest = PluginManager.instance().get_manifest(PLUGIN)
    names = [w.display_name for w in manifest.contributions.widgets or []]
    return sorted(names, key=lambda n: (PREFERRED.index(n) if n in PREFERRED else 99, n))


def _avoid_system_theme() -> None:
    """With Qt5 napari cannot detect the system theme and warns at every start; use 'dark'."""
    import qtpy
    from napari.settings import get_settings

    appearance = get_settings().appearance
    if appearance.theme == "system" and qtpy.API_NAME == "PyQt5":
        appearance.theme = "dark"


def open_viewer(images: list[str] | None = None, sample: str = "etched", show: bool = True):
    """Return a viewer with the plugin's widgets docked (tabbed) and images or a sample open."""
    import napari

    _avoid_system_theme()
    viewer = napari.Viewer(show=show, title="napari-microstructure")
    if images:
        for path in images:
            viewer.open(path, plugin=PLUGIN)
    else:
        viewer.open_sample(PLUGIN, sample)
    docks = []
    for name in widget_names():
        try:
            dock, _widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
            docks.append(dock)
        except Exception:  # noqa: BLE001 - one broken widget must not stop the others
            log.exception("could not dock %s", name)
    if docks:
        from qtpy.QtCore import QTimer

        # raise the first tab once the window has laid out its tabified docks
        QTimer.singleShot(0, docks[0].raise_)
    from .widgets.scale import show_scale_bar

    show_scale_bar(viewer)
    if show:
        from napari.settings import get_settings
        from qtpy.QtWidgets import QApplication

        screen = QApplication.primaryScreen()
        # napari restores the size a user gave the window; on a first start it would size the
        # window to its contents, which leaves a narrow canvas once the docks are tabbed
        if screen is not None and not get_settings().application.window_size:
            fit_window(viewer, docks[0] if docks else None, screen.availableGeometry())
    return viewer


def fit_window(viewer: napari.Viewer, dock: QDockWidget | None, area: QRect) -> None:
    """Size the window to 90 % of the screen area ``area`` (a QRect), centred, with the dock
    area a third of its width: the image, not the docks, gets most of the room."""
    from qtpy.QtCore import Qt

    window = viewer.window._qt_window  # size only; napari has no public API for it
    width, height = int(area.width() * 0.9), int(area.height() * 0.9)
    window.resize(width, height)
    window.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)
    if dock is not None:
        window.resizeDocks([dock], [max(width // 3, 360)], Qt.Orientation.Horizontal)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m napari_microstructure.app")
    parser.add_argument("images", nargs="*", help="micrographs to open (default: a sample)")
    parser.add_argument("--sample", default="etched", help="sample to open without images")
    parser.add_argument(
        "--screenshot", metavar="PNG", help="save a screenshot of the window and quit"
    )
    args = parser.parse_args(argv)
    import napari

    viewer = open_viewer(args.images, args.sample)
    if args.screenshot:
        from qtpy.QtCore import QTimer

        def shoot() -> None:
            viewer.screenshot(path=args.screenshot, canvas_only=False)
            print(f"screenshot written to {args.screenshot}")
            viewer.close()

        QTimer.singleShot(1500, shoot)
    napari.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
