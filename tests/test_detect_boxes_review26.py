"""Detect dock, review 26: the 'show confidence' slider redraws many boxes in one go (labels
placed once), and the Features table's sizes and the labels follow the user's edits."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure._layers import image_layer_kwargs

PS = 0.5  # µm per pixel of the sample image


@pytest.fixture
def detected(make_napari_viewer, settings_home, wait_idle, qtbot):
    """A Detect dock that has run the demo detector on a sample micrograph (conf 0.1)."""
    from _detect_data import defects_image

    from napari_microstructure.widgets.detect import DetectWidget

    img, _ = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(PS, "defects"))
    widget = DetectWidget(viewer)
    widget.conf = 0.1
    widget.run()
    wait_idle(widget, 60_000)
    qtbot.waitUntil(lambda: widget.layer is not None, timeout=5000)
    qtbot.wait(20)
    yield widget
    widget.close()


def _extent_px(layer, i: int) -> tuple[float, float]:
    v = np.asarray(layer.data[i], dtype=float)
    return float(np.ptp(v[:, 1]) / PS), float(np.ptp(v[:, 0]) / PS)


def test_slider_redraws_exactly_the_boxes_above_it_placing_labels_once(
    detected, qtbot, monkeypatch
):
    from napari.layers import Shapes

    from napari_microstructure._layers.shapes import class_color, edited_since_drawn

    widget = detected
    layer = widget.layer
    result = widget.result
    assert len(result) >= 6
    # the user's choices on the layer: hidden labels and layer, a selection
    layer.text.visible = False
    layer.visible = False
    layer.selected_data = {0}
    # napari places every label again on each change, in a time growing with n²: count
    placed = []
    original = Shapes._view_text_coords
    monkeypatch.setattr(
        Shapes, "_view_text_coords", property(lambda s: placed.append(1) or original.fget(s))
    )
    threshold = float(np.median(result["confidence"]))
    widget.show_conf = threshold
    qtbot.wait(30)
    assert not placed  # labels hidden by the user: never placed, and left hidden
    assert layer.text.visible is False and layer.visible is False
    assert layer.name == "defects detections" and layer.selected_data == set()

    layer.text.visible = layer.visible = True
    placed.clear()
    threshold = float(np.quantile(result["confidence"], 0.3))
    widget.show_conf = threshold
    qtbot.wait(30)
    assert len(placed) <= 1  # was 8 (one per placement and data change)
    keep = result[result["confidence"] >= threshold - 1e-9].reset_index(drop=True)
    assert 0 < layer.nshapes == len(keep) < len(result)
    feats = layer.features
    assert feats["class_name"].tolist() == keep["class_name"].tolist()
    np.testing.assert_allclose(feats["confidence"], keep["confidence"])
    np.testing.assert_allclose(feats["width_px"], keep["x2"] - keep["x1"])
    np.testing.assert_allclose(
        feats["area_um2"], (keep["x2"] - keep["x1"]) * (keep["y2"] - keep["y1"]) * PS**2
    )
    for i, row in keep.iterrows():
        np.testing.assert_allclose(layer.edge_color[i], class_color(row["class_id"]))
        assert _extent_px(layer, i) == pytest.approx((row.x2 - row.x1, row.y2 - row.y1))
    assert list(layer.text.values) == [
        f"{n} {c:.2f}" for n, c in zip(keep["class_name"], keep["confidence"], strict=True)
    ]
    assert set(layer.shape_type) == {"rectangle"}
    # the dock still counts its own boxes, not "your edits"
    assert not edited_since_drawn(layer)
    assert widget.summary["count"].sum() == len(keep) == len(widget.counted)


def test_resized_box_gets_its_new_size_in_the_features(detected, qtbot):
    from napari_microstructure._layers.shapes import edited_since_drawn

    layer = detected.layer
    v = np.asarray(layer.data[0], dtype=float)
    w0, h0 = _extent_px(layer, 0)
    assert layer.features.loc[0, "width_um"] == pytest.approx(w0 * PS)
    c = v.mean(0)
    data = list(layer.data)
    data[0] = c + (v - c) * [1.0, 2.0]  # twice as wide, as dragging its handle
    layer.data = data
    qtbot.wait(30)
    row = layer.features.loc[0]
    assert row["width_px"] == pytest.approx(2 * w0) and row["height_px"] == pytest.approx(h0)
    assert row["width_um"] == pytest.approx(2 * w0 * PS)
    assert row["height_um"] == pytest.approx(h0 * PS)
    assert row["area_um2"] == pytest.approx(2 * w0 * h0 * PS**2)
    assert edited_since_drawn(layer)
    # the class and confidence the model gave are kept, and so is the label
    assert layer.text.values[0] == f"{row['class_name']} {row['confidence']:.2f}"


def test_drawn_box_gets_sizes_and_no_nan_label(detected, qtbot):
    layer = detected.layer
    n = layer.nshapes
    layer.add_rectangles(np.array([[5.0, 5.0], [25.0, 45.0]]))  # µm: 20 tall, 40 wide
    qtbot.wait(30)
    assert layer.nshapes == n + 1
    row = layer.features.iloc[-1]
    assert row["width_um"] == pytest.approx(40.0) and row["height_um"] == pytest.approx(20.0)
    assert row["area_um2"] == pytest.approx(800.0)
    assert row["width_px"] == pytest.approx(80.0) and row["height_px"] == pytest.approx(40.0)
    assert np.isnan(row["confidence"])  # drawn by hand: no confidence of its own
    labels = list(layer.text.values)
    assert "nan" not in labels[-1] and labels[-1].strip() == ""
    assert all("nan" not in s for s in labels)
    # the model's boxes keep their labels
    f = layer.features
    assert labels[0] == f"{f.loc[0, 'class_name']} {f.loc[0, 'confidence']:.2f}"
    # classed by the user in the Features table: the label follows, still without nan
    feats = layer.features.copy()
    feats.loc[n, "class_name"] = "pore"
    layer.features = feats
    qtbot.wait(30)
    assert layer.text.values[-1] == "pore"
    assert layer.features.iloc[-1]["width_um"] == pytest.approx(40.0)


def test_the_first_draw_places_the_labels_once(make_napari_viewer, settings_home, monkeypatch):
    from _detect_data import defects_image
    from napari.layers import Shapes

    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.widgets.detect import DetectWidget

    img, _ = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    df = run_to_end(detect(img, load_detector(None), pixel_size=PS, conf=0.1))
    viewer = make_napari_viewer()
    image = viewer.add_image(img, **image_layer_kwargs(PS, "defects"))
    widget = DetectWidget(viewer)
    placed = []
    original = Shapes._view_text_coords
    monkeypatch.setattr(
        Shapes, "_view_text_coords", property(lambda s: placed.append(1) or original.fget(s))
    )
    widget._on_result(df, image, img.shape[:2], PS, 0.1)
    layer = widget.layer
    assert layer.nshapes == len(df) > 0 and layer.text.visible
    assert len(placed) <= 1, len(placed)  # once per change with the labels shown
    assert list(layer.text.values) == [
        f"{n} {c:.2f}" for n, c in zip(df["class_name"], df["confidence"], strict=True)
    ]
    widget.close()
