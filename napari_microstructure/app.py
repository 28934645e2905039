"""Start napari with every widget of the plugin docked and a sample micrograph open.

``python -m napari_microstructure.app [IMAGE ...]`` opens the given micrographs, or the etched
sample when none is given (or none can be read). This is the "main job" of the README.
Arguments that cannot work (a missing file, an unknown sample, a screenshot into a missing
folder) end with one line and exit status 2 before napari starts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .core.imageio import SUPPORTED_SUFFIXES

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


def sample_keys() -> list[str]:
    """Keys of the plugin's sample micrographs, from its manifest (no napari start needed)."""
    from npe2 import PluginManifest

    manifest = PluginManifest.from_file(Path(__file__).with_name("napari.yaml"))
    return [sample.key for sample in manifest.contributions.sample_data or []]


def open_images(viewer: napari.Viewer, paths: list[str]) -> list[str]:
    """Open ``paths`` with the plugin's reader; return those that opened nothing.

    The reader tells why in napari's notification area; anything else that goes wrong is told
    there too, so one bad file neither stops the others nor the viewer.
    """
    from napari.utils.notifications import show_error

    failed = []
    for path in paths:
        try:
            layers = viewer.open(path, plugin=PLUGIN)
        except Exception as exc:  # noqa: BLE001 - told to the user; the viewer stays usable
            log.debug("opening %s failed", path, exc_info=True)
            show_error(f"{Path(path).name}: cannot be opened: {exc}")
            layers = []
        if not layers:
            failed.append(path)
    return failed


def open_viewer(
    images: list[str] | None = None,
    sample: str = "etched",
    show: bool = True,
    failed: list[str] | None = None,
):
    """Return a viewer with the plugin's widgets docked (tabbed) and images or a sample open.

    The sample opens also when none of ``images`` could be opened; those that could not are
    appended to ``failed`` when it is given.
    """
    import napari

    _avoid_system_theme()
    viewer = napari.Viewer(show=show, title="napari-microstructure")
    unopened = open_images(viewer, images or [])
    if failed is not None:
        failed.extend(unopened)
    if not images or len(unopened) == len(images):
        viewer.open_sample(PLUGIN, sample)
    from napari.layers import Image

    # the micrograph is the chosen layer, not the hidden truth labels added after it (whose
    # brush the layer controls would show)
    first = next((layer for layer in viewer.layers if isinstance(layer, Image)), None)
    if first is not None:
        viewer.layers.selection.active = first
    docks = []
    for name in widget_names():
        try:
            dock, _widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
        except Exception:  # noqa: BLE001 - one broken widget must not stop the others
            log.exception("could not dock %s", name)
            continue
        # the tab shows the window title: without napari's " (napari-microstructure)" eight
        # tabs share a third of the window unelided; the dock's name (its key in napari's
        # Plugins menu) and its title bar keep the full name
        dock.setWindowTitle(name)
        docks.append(dock)
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
        remembered = get_settings().application.window_size
        if screen is not None and needs_fitting(remembered, screen.availableGeometry()):
            fit_window(viewer, docks[0] if docks else None, screen.availableGeometry())
        from qtpy.QtCore import QTimer

        if docks:
            QTimer.singleShot(0, lambda: fit_tabs(viewer, docks))

        # the camera was fitted to the canvas before the docks took their room: fit it again
        # once the window is laid out, so the image fills the canvas
        QTimer.singleShot(0, viewer.reset_view)
    return viewer


#: a window narrower or lower than this has no room for the image beside the layer controls
#: and the plugin's docks (a remembered 780 x 595 window left the canvas 0 px wide)
USABLE_SIZE = (1100, 650)


def needs_fitting(remembered: tuple[int, int] | None, area: QRect) -> bool:
    """Whether to size the window to the screen ``area``: on a first start (no size napari
    remembers), when the remembered size is too small for the docked layout and the screen
    has more room, or when it is larger than the screen (a size remembered on a bigger one,
    which would put the docks and their tabs off the screen's edge)."""
    if not remembered:
        return True
    w, h = (int(v) for v in remembered)
    if w > area.width() or h > area.height():
        return True
    too_small = w < USABLE_SIZE[0] or h < USABLE_SIZE[1]
    return too_small and (area.width() > w or area.height() > h)


def fit_tabs(viewer: napari.Viewer, docks: list[QDockWidget]) -> None:
    """Widen the dock area, to half the window at most, until the tab bar of ``docks`` shows
    every title whole (Qt elides them when the bar is a pixel short)."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QTabBar

    window = viewer.window._qt_window  # size only; napari has no public API for it
    titles = {dock.windowTitle() for dock in docks}
    for bar in window.findChildren(QTabBar):
        if titles.isdisjoint(bar.tabText(i) for i in range(bar.count())):
            continue
        if bar.sizeHint().width() > bar.width():
            wanted = min(bar.sizeHint().width(), window.width() // 2)
            window.resizeDocks([docks[0]], [wanted], Qt.Orientation.Horizontal)


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


def _image_problem(path: str) -> str | None:
    """Why ``path`` cannot be a micrograph, from its name alone (None: try to read it)."""
    file = Path(path)
    try:
        if not file.exists():
            return f"{path}: no such file"
        if file.is_dir():
            return f"{path}: is a folder, not an image"
    except OSError as exc:  # a name too long, a loop of links
        return f"{path}: {exc.strerror or exc}"
    if file.suffix.lower() not in SUPPORTED_SUFFIXES:
        return (
            f"{path}: unsupported file type '{file.suffix or '(none)'}'; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return None


def _screenshot_problem(path: str) -> str | None:
    """Why a screenshot cannot be written to ``path`` (None: as far as can be told)."""
    shot = Path(path)
    try:
        if shot.is_dir():
            return f"--screenshot {path}: is a folder; give a file name"
        if not shot.parent.is_dir():
            return f"--screenshot {path}: the folder {shot.parent} does not exist"
    except OSError as exc:
        return f"--screenshot {path}: {exc.strerror or exc}"
    return None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m napari_microstructure.app")
    parser.add_argument("images", nargs="*", help="micrographs to open (default: a sample)")
    parser.add_argument(
        "--sample", default="etched", choices=sample_keys(), help="sample to open without images"
    )
    parser.add_argument(
        "--screenshot", metavar="PNG", help="save a screenshot of the window and quit"
    )
    args = parser.parse_args(argv)
    for path in args.images:
        if problem := _image_problem(path):
            parser.error(problem)
    if args.screenshot and (problem := _screenshot_problem(args.screenshot)):
        parser.error(problem)
    return args


def main(argv: list[str] | None = None) -> int:
    """Start the app; 0 on success, 1 when a screenshot could not be taken, 2 for bad
    arguments."""
    args = _parse_args(argv)
    import napari

    failed: list[str] = []
    viewer = open_viewer(args.images, args.sample, failed=failed)
    if args.screenshot and failed:
        viewer.close()
        print(
            f"napari-microstructure: no screenshot written: cannot open {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    status = 0
    if args.screenshot:
        from qtpy.QtCore import QTimer

        def shoot() -> None:
            nonlocal status
            try:
                viewer.screenshot(path=args.screenshot, canvas_only=False)
                print(f"screenshot written to {args.screenshot}")
            except Exception as exc:  # noqa: BLE001 - told; the window must close all the same
                print(
                    f"napari-microstructure: cannot write the screenshot {args.screenshot}: {exc}",
                    file=sys.stderr,
                )
                status = 1
            finally:
                viewer.close()

        QTimer.singleShot(1500, shoot)
    napari.run()
    return status


if __name__ == "__main__":
    sys.exit(main())
