"""Measure dock: same numbers as the CLI, features on the layer, table rows select grains."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.widgets.measure import MeasureWidget

KEYS = ["grain_count", "mean_intercept", "astm_g_intercept", "astm_g_planimetric", "mean_area"]


@pytest.fixture
def scene(make_napari_viewer, settings_home):
    from napari_microstructure.core.synthetic import generate

    m = generate("etched", shape=(320, 320), pixel_size=0.5, seed=7)
    viewer = make_napari_viewer()
    viewer.add_image(m.image, scale=(0.5, 0.5), metadata={"pixel_size_um": 0.5})
    layer = viewer.add_labels(
        m.grains, name="grains", scale=(0.5, 0.5), metadata={"pixel_size_um": 0.5}
    )
    phases = (m.grains % 3 == 0).astype(np.uint8)
    ph_layer = viewer.add_labels(phases, name="phases", scale=(0.5, 0.5))
    widget = MeasureWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.labels_layer = layer
    return viewer, widget, layer, ph_layer, m


def _measure(widget, qtbot):
    worker = widget.run()
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)


def test_widget_matches_cli(scene, qtbot, tmp_path, capsys):
    viewer, widget, layer, ph_layer, m = scene
    widget.phases_layer = ph_layer
    widget.phase_names = ["ferrite", "pearlite"]
    _measure(widget, qtbot)
    s = widget.summary
    assert s is not None and s["unit"] == "µm"

    lab = tmp_path / "grains.tif"
    ph = tmp_path / "phases.tif"
    tifffile.imwrite(lab, m.grains)
    tifffile.imwrite(ph, ph_layer.data)
    args = ["measure", str(lab), "--pixel-size", "0.5", "--phases", str(ph), "--json"]
    assert main([*args, "--phase-names", "ferrite,pearlite"]) == 0
    cli = json.loads(capsys.readouterr().out)
    for key in KEYS:
        assert s[key] == pytest.approx(cli[key])
    assert s["phase_fractions"] == pytest.approx(cli["phase_fractions"])

    # one row per grain in the layer's features (napari's hover) and the table
    feats = layer.features
    assert len(feats) == len(widget.table) == s["grain_count"]
    assert (feats["index"] == feats["label"]).all()
    unit = s["unit"]  # the headers carry the units, as the CSV's do
    assert widget.table_columns[:3] == ("label", f"area [{unit}²]", f"ecd [{unit}]")
    assert widget.distribution["n"] == s["grain_count"]
    assert sum(widget.distribution["counts"]) == s["grain_count"]


def test_row_selects_grain_colour_and_exports(scene, qtbot, tmp_path):
    viewer, widget, layer, _, m = scene
    _measure(widget, qtbot)
    label = widget.select_row(5)
    assert layer.selected_label == label == int(widget.table["label"].iloc[5])
    assert layer.show_selected_label
    # clicking a row in the dock's table does the same
    widget._table.view.selectRow(2)
    assert layer.selected_label == int(widget.table["label"].iloc[2])

    widget.colour_by = "area"
    big = int(widget.table.sort_values("area")["label"].iloc[-1])
    small = int(widget.table.sort_values("area")["label"].iloc[0])
    colours = layer.colormap.color_dict
    assert not np.allclose(colours[big], colours[small])
    widget.colour_by = "label colours"
    assert layer.colormap is not None

    csv_files = widget.export_table(tmp_path / "g.csv")
    assert len(pd.read_csv(csv_files[0])) == len(widget.table)
    summary = json.loads(open(widget.export_summary(tmp_path / "s.json")[0]).read())
    assert summary["grain_count"] == widget.summary["grain_count"]
    assert summary["layer"] == "grains"


def test_table_shows_the_docks_numbers_read_only(scene, qtbot):
    from qtpy.QtCore import QLocale
    from qtpy.QtWidgets import QAbstractItemView

    _, widget, _, _, _ = scene
    _measure(widget, qtbot)
    table = widget._table.view
    assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    col = list(widget.table_columns).index("circularity")
    shown = [widget._table.text(r, col) for r in range(table.model().rowCount())]
    delegate = table.itemDelegate()
    # displayed as formatted (4 significant digits), not re-formatted as 0.8123 -> "0.8123"
    # and 0.0282 -> "2.820e-02" by magicgui's own cell display
    for text in shown[:20]:
        assert delegate.displayText(text, QLocale()) == text
    assert delegate.displayText("0.0282", QLocale()) == "0.0282"
    assert delegate.displayText("94850", QLocale()) == "94850"


def test_layer_choice_prefers_objects_and_phase_maps(make_napari_viewer, settings_home):
    from napari_microstructure._layers import image_layer_kwargs, new_scribbles_kwargs, show_labels

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    kw = new_scribbles_kwargs(image, "img scribbles")
    viewer.add_labels(kw.pop("data"), **kw)
    widget = MeasureWidget(viewer)
    assert widget.phases_layer is None  # no phase map yet
    classes = show_labels(
        viewer, "img pixel classes", np.ones((64, 64), np.uint8), image, "phases"
    )
    assert widget.phases_layer is classes  # a new phase map is taken
    objects = viewer.add_labels(
        np.zeros((64, 64), np.uint32), **image_layer_kwargs(None, "img objects", "instances")
    )
    assert widget.labels_layer is objects  # replaces the scribbles it showed
    other = viewer.add_labels(np.zeros((64, 64), np.uint32), name="loaded grains")
    widget.labels_layer = other  # the user's own choice of an acceptable layer ...
    viewer.add_labels(
        np.zeros((64, 64), np.uint32), **image_layer_kwargs(None, "more objects", "instances")
    )
    assert widget.labels_layer is other  # ... is kept when another objects layer comes
    widget.phases_layer = other
    show_labels(viewer, "img phases", np.ones((64, 64), np.uint8), image, "phases")
    assert widget.phases_layer is other  # in the phases box too
    again = MeasureWidget(viewer)  # a dock opened later picks the best layers at once
    assert again.labels_layer.name in ("img objects", "more objects")
    assert again.phases_layer is classes


def test_phase_names_come_from_the_phase_map(scene, qtbot):
    _, widget, _, ph_layer, _ = scene
    ph_layer.features = pd.DataFrame({"index": [0, 1], "class": ["ferrite", "pearlite"]})
    widget.phases_layer = ph_layer
    _measure(widget, qtbot)
    assert {"ferrite", "pearlite"} <= set(widget.summary["phase_fractions"])
    widget.phase_names = ["alpha", "beta"]  # typed names win
    _measure(widget, qtbot)
    assert {"alpha", "beta"} <= set(widget.summary["phase_fractions"])


def test_log_histogram_and_no_pixel_size(scene, qtbot):
    viewer, widget, layer, _, _ = scene
    # an unset override (0) shows the layer's own pixel size instead of "0.000000"
    assert widget._pixel.value == 0 and widget._pixel.native.text() == "layer: 0.5"
    layer.metadata = {}
    layer.scale = (1.0, 1.0)
    widget._log.value = True
    _measure(widget, qtbot)
    assert widget.summary["unit"] == "px" and widget.summary["astm_g_intercept"] is None
    assert widget._pixel.native.text() == "layer: none (px)"
    assert widget.distribution["log"]
    widget.pixel_size = 0.5
    _measure(widget, qtbot)
    assert widget.summary["unit"] == "µm" and widget.summary["astm_g_intercept"] is not None


def test_summary_text_gives_directions_and_the_right_note(scene, qtbot):
    viewer, widget, layer, _, _ = scene
    _measure(widget, qtbot)
    text = widget._summary_text.value
    assert "intercept by direction: horizontal" in text and "no pixel size" not in text
    layer.data = np.zeros_like(layer.data)  # no grains, the pixel size still set
    _measure(widget, qtbot)
    text = widget._summary_text.value
    assert "no grains in the label image" in text and "no pixel size" not in text


def test_no_layer_is_a_clear_error(make_napari_viewer, settings_home):
    viewer = make_napari_viewer()
    widget = MeasureWidget(viewer)
    assert widget.run() is None


def test_phases_from_classes_in_features_and_kept_columns(
    make_napari_viewer, settings_home, qtbot
):
    lab = np.zeros((60, 60), np.uint32)
    lab[:, :20], lab[:, 20:45], lab[:, 45:] = 1, 2, 3
    viewer = make_napari_viewer()
    layer = viewer.add_labels(lab, scale=(2.0, 2.0))
    layer.features = pd.DataFrame(
        {"index": [1, 2, 3], "class_name": ["ferrite", "pearlite", "ferrite"]}
    )
    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    assert widget.pixel_size == pytest.approx(2.0)  # from the layer's scale
    _measure(widget, qtbot)
    fractions = widget.summary["phase_fractions"]
    assert fractions["ferrite"] == pytest.approx(35 / 60)
    assert fractions["pearlite"] == pytest.approx(25 / 60)
    # the class column survives the measurement, next to the new numbers
    feats = layer.features.set_index("label")
    assert feats.loc[2, "class_name"] == "pearlite" and feats.loc[2, "area"] == 25 * 60 * 4


def test_a_phase_map_alone_gives_its_phase_fractions(make_napari_viewer, settings_home, qtbot):
    from napari_microstructure._layers import show_labels
    from napari_microstructure.core.measure import summarize
    from napari_microstructure.core.synthetic import generate

    m = generate("ferrite_pearlite", shape=(256, 256), pixel_size=0.5, seed=3)
    viewer = make_napari_viewer()
    image = viewer.add_image(m.image, name="steel")
    # a phases model's output (Segment dock): the only Labels layer, so also the grains choice
    show_labels(viewer, "steel phases", m.phases.astype(np.uint8), image, "phases")
    widget = MeasureWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert widget.labels_layer is viewer.layers["steel phases"]
    widget.phase_names = ["ferrite", "pearlite"]
    _measure(widget, qtbot)
    s = widget.summary
    assert s["grain_count"] is None and s["astm_g_intercept"] is None and widget.table is None
    truth = float((m.phases == 1).mean())
    assert s["phase_fractions"]["pearlite"] == pytest.approx(truth, abs=1e-9)
    assert widget._summary_text.value.startswith("phase map: phase fractions only")
    assert "pearlite" in widget._summary_text.value
    with pytest.raises(ValueError, match="nothing to measure"):
        summarize(None)
