"""The plugin as napari sees it: manifest, reader, samples, every widget docked."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_microstructure.app import open_viewer, widget_names
from napari_microstructure.widgets.scale import scale_bar

PLUGIN = "napari-microstructure"
PKG = "napari_microstructure"


def test_manifest_validates():
    proc = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", PLUGIN], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid" in proc.stdout + proc.stderr


def test_reader_opens_tiff_in_micrometres(make_napari_viewer, tmp_path):
    path = tmp_path / "cal.tif"
    img = np.random.default_rng(0).integers(0, 255, (40, 50), dtype=np.uint8)
    tifffile.imwrite(path, img, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "um"})
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin=PLUGIN)
    layer = viewer.layers[-1]
    assert tuple(layer.scale) == pytest.approx((0.25, 0.25))
    assert layer.metadata["pixel_size_um"] == pytest.approx(0.25)
    np.testing.assert_array_equal(layer.data, img)


def test_reader_reports_corrupt_file_without_raising(make_napari_viewer, tmp_path):
    from napari_microstructure._reader import read_layers

    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00garbage")
    assert read_layers(str(path)) == []


@pytest.mark.parametrize("key", ["etched", "tint", "defects", "two_phase"])
def test_samples_open_with_pixel_size(make_napari_viewer, key):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, key)
    image = next(layer for layer in viewer.layers if layer._type_string == "image")
    ps = image.metadata["pixel_size_um"]
    assert ps and ps > 0
    assert tuple(image.scale[-2:]) == pytest.approx((ps, ps))


def test_every_widget_docks(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "etched")
    names = widget_names()
    assert "Pixel size" in names
    for name in names:
        dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
        assert widget is not None, name


def test_every_widget_labels_its_controls_on_an_empty_viewer(make_napari_viewer):
    """Opened before any layer exists (as the app does), each dock still names its controls.

    A dock's own attribute named like one of magicgui's (``_labels``: whether a container
    shows labels) once hid the Measure dock's labels until a Labels layer was open.
    """
    from magicgui.widgets import Container
    from qtpy.QtWidgets import QLabel

    # replaced on purpose: ``native`` (napari docks the scroll area around the controls) and
    # ``_insert_widget`` (controls without a label span the dock)
    magicgui_names = {n for n in dir(Container) if not n.startswith("__")} - {
        "close",
        "_abc_impl",
        "native",
        "_insert_widget",
    }
    viewer = make_napari_viewer()
    for name in widget_names():
        _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
        assert widget.labels is True, name
        ours = {n for k in type(widget).__mro__ if k.__module__.startswith(PKG) for n in vars(k)}
        assert not ours & magicgui_names, (name, ours & magicgui_names)
        texts = {label.text() for label in widget.native.findChildren(QLabel)}
        first = next(w for w in widget if w.label and not w.widget_type.endswith("Button"))
        assert first.label in texts, (name, first.label)


def test_app_docks_widgets_and_opens_sample(qtbot):
    viewer = open_viewer(show=False)
    try:
        assert len(viewer.layers) >= 1
        assert viewer.layers[0].metadata["pixel_size_um"] > 0
        assert viewer.layers.selection.active is viewer.layers[0]  # the micrograph, not labels
        assert scale_bar(viewer).visible
        assert scale_bar(viewer).position == "bottom_left"  # napari's messages pop up right
        docked = set(viewer.window.dock_widgets)
        assert {f"{name} ({PLUGIN})" for name in widget_names()} <= docked
    finally:
        viewer.close()


def test_docks_scroll_instead_of_making_the_window_taller_than_a_laptop_screen(
    make_napari_viewer,
):
    """All docks tabbed together (as the app docks them) fit a 768-pixel-high screen: the
    tallest (Curate) once made the window's minimum height 1146 px."""
    from qtpy.QtWidgets import QScrollArea

    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "etched")
    for name in widget_names():
        dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
        assert isinstance(dock.widget(), QScrollArea), name
        assert dock.widget().widget().isAncestorOf(widget[0].native), name
    assert viewer.window._qt_window.minimumSizeHint().height() < 700


def test_app_window_fills_most_of_the_screen_with_a_wide_canvas(make_napari_viewer, qtbot):
    from qtpy.QtCore import QRect

    from napari_microstructure.app import fit_window

    viewer = make_napari_viewer(show=True)
    viewer.open_sample(PLUGIN, "etched")
    dock, _ = viewer.window.add_plugin_dock_widget(PLUGIN, widget_names()[0])
    fit_window(viewer, dock, QRect(0, 0, 1600, 1000))
    window = viewer.window._qt_window
    assert (window.width(), window.height()) == (1440, 900)
    qtbot.waitUntil(lambda: abs(dock.width() - 480) <= 8, timeout=5000)
    assert viewer.window._qt_viewer.canvas.native.width() > dock.width()


def test_unlabelled_controls_span_the_dock(make_napari_viewer, qtbot):
    """Status text, the summary and rows of controls start at the dock's left edge, like the
    buttons, instead of beside an empty label column."""
    from qtpy.QtCore import QPoint

    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer(show=True)
    widget = MeasureWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.waitUntil(lambda: widget._run.native.isVisible())

    def left(w):
        return w.native.mapTo(widget.native, QPoint(0, 0)).x()

    assert abs(left(widget._summary_text) - left(widget._run)) <= 2
    assert abs(left(widget._status) - left(widget._run)) <= 2
    assert left(widget._pixel) > left(widget._run) + 20  # labelled controls keep their labels


def test_layer_boxes_follow_a_rename_before_docking(make_napari_viewer):
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    layer = viewer.add_labels(np.zeros((8, 8), np.uint8), name="grains")
    widget = MeasureWidget(viewer)  # not docked: napari does not refresh its boxes
    layer.name = "renamed"
    assert widget._grains.native.currentText() == "renamed"


def test_a_remembered_window_too_small_for_the_docks_is_fitted_to_the_screen():
    from qtpy.QtCore import QRect

    from napari_microstructure.app import needs_fitting

    screen = QRect(0, 0, 1600, 1000)
    assert needs_fitting(None, screen) and needs_fitting([], screen)
    assert needs_fitting((780, 595), screen)  # no canvas was left between the docks
    assert not needs_fitting((1300, 800), screen)  # a size the user chose is kept
    assert not needs_fitting((1500, 600), QRect(0, 0, 1500, 600))  # the screen is no larger


def test_app_fits_the_sample_to_the_canvas_once_the_window_is_laid_out(
    make_napari_viewer, monkeypatch, qtbot
):
    """The camera was fitted to the canvas before the docks and the window took their size, so
    the sample filled about half of the canvas it was shown in."""
    import napari

    # the test's viewer, so that napari's plugin set-up stays the fixture's
    monkeypatch.setattr(napari, "Viewer", make_napari_viewer)
    viewer = open_viewer(show=True)
    qtbot.wait(300)
    zoom = viewer.camera.zoom
    viewer.reset_view()
    assert viewer.camera.zoom == pytest.approx(zoom, rel=0.02)
