"""The main job's window: the eight docks' tabs show their names whole on a 1600 x 1000 screen,
a window remembered larger than the screen is fitted to it; ``batch`` names the settings file
when a stored value cannot run."""

import json

import pytest
from qtpy.QtCore import QRect

from napari_microstructure import app
from napari_microstructure.cli import CLIError
from napari_microstructure.cli.batch import load_config
from napari_microstructure.core.pipeline import PipelineConfig, PipelineError

PLUGIN = "napari-microstructure"


class _Screen:
    """A primary screen of a given size (the test display may be smaller)."""

    def __init__(self, area: QRect) -> None:
        self.area = area

    def availableGeometry(self) -> QRect:  # noqa: N802 - Qt's name
        return self.area


def _dock_tab_bar(viewer, titles):
    from qtpy.QtWidgets import QTabBar

    # Qt keeps the tab bars of earlier layouts (hidden) for reuse
    for bar in viewer.window._qt_window.findChildren(QTabBar):
        if bar.isVisible() and set(titles) & {bar.tabText(i) for i in range(bar.count())}:
            return bar
    return None


def test_the_docks_tabs_show_their_names_whole_on_a_1600_by_1000_screen(
    make_napari_viewer, monkeypatch, qtbot
):
    """Titled '<name> (napari-microstructure)', the eight tabs read 'Pixel si…', 'Det…' in the
    480 px the dock area has; one pixel short, Qt still elided 'Segm…'."""
    import napari
    from qtpy.QtWidgets import QApplication, QDockWidget, QLabel

    monkeypatch.setattr(napari, "Viewer", make_napari_viewer)
    monkeypatch.setattr(
        QApplication, "primaryScreen", staticmethod(lambda: _Screen(QRect(0, 0, 1600, 1000)))
    )
    viewer = app.open_viewer(show=True)
    names = app.widget_names()

    def tabbed() -> bool:
        bar = _dock_tab_bar(viewer, names)
        return bar is not None and [bar.tabText(i) for i in range(bar.count())] == names

    qtbot.waitUntil(tabbed, timeout=10000)
    bar = _dock_tab_bar(viewer, names)
    # every tab gets the width it asks for (text and padding), so Qt elides none of them
    qtbot.waitUntil(lambda: bar.sizeHint().width() <= bar.width(), timeout=5000)
    fm = bar.fontMetrics()
    for i in range(bar.count()):
        assert bar.tabRect(i).width() > fm.horizontalAdvance(bar.tabText(i)), bar.tabText(i)
    # napari still knows the docks by their full names (its Plugins menu toggles them so),
    # and their own title bars show them
    full = {f"{name} ({PLUGIN})" for name in names}
    assert full <= set(viewer.window.dock_widgets)
    for dock in viewer.window._qt_window.findChildren(QDockWidget):
        if dock.objectName() in full:
            labels = dock.titleBarWidget().findChildren(QLabel)
            assert dock.objectName() in [label.text() for label in labels]


def test_a_remembered_window_larger_than_the_screen_is_fitted_to_it():
    laptop = QRect(0, 0, 1280, 800)
    assert app.needs_fitting((1440, 900), laptop)  # was kept: the docks' tabs were off-screen
    assert app.needs_fitting((1440, 700), laptop) and app.needs_fitting((1200, 820), laptop)
    assert not app.needs_fitting((1280, 800), laptop)  # exactly the screen: kept
    assert not app.needs_fitting((1300, 800), QRect(0, 0, 1600, 1000))


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({"pipeline.detect": {"conf": "high"}}, "detect.conf must be a number, got 'high'"),
        ({"pipeline.pixel_size": "abc"}, "pixel_size must be a number"),
        ({"pipeline.grains": "classical"}, "'pipeline.grains' must be a mapping"),
    ],
)
def test_batch_names_the_settings_file_when_a_stored_value_cannot_run(
    settings_home, stored, message
):
    settings_home.mkdir()
    (settings_home / "settings.json").write_text(json.dumps(stored))
    with pytest.raises(PipelineError) as refused:
        PipelineConfig.from_settings()  # also what Measure's "Save pipeline" tells
    text = str(refused.value)
    assert message in text and str(settings_home / "settings.json") in text
    assert "--config" not in text  # no command line option in a dock's message
    with pytest.raises(CLIError) as batch:
        load_config(None, None)
    assert str(batch.value) == f"{text}; correct it or give --config"


def test_the_docks_read_a_wrong_typed_value_as_its_default(make_napari_viewer, settings_home):
    """What installation.md says beside batch's refusal."""
    from napari_microstructure.widgets.detect import DetectWidget

    settings_home.mkdir()
    (settings_home / "settings.json").write_text(json.dumps({"pipeline.detect": {"conf": "high"}}))
    assert DetectWidget(make_napari_viewer()).conf == 0.25
