"""Detection science review: searched classes, box pixel convention, seams, NaN, datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_microstructure._layers import image_layer_kwargs


def test_dock_table_lists_only_the_classes_searched(make_napari_viewer, settings_home, qtbot):
    from _detect_data import defects_image

    from napari_microstructure.widgets.detect import DetectWidget

    img, _ = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(0.5, "defects"))
    widget = DetectWidget(viewer)
    widget.classes = ["pore"]
    widget.run()
    qtbot.waitUntil(lambda: widget.layer is not None, timeout=60_000)
    # a class not searched has no measured density of 0 per mm²: it is not in the table
    assert widget.summary["class_name"].tolist() == ["pore"]
    assert widget.table["class"].tolist() == ["pore"]


def test_boxes_lie_on_the_pixels_they_enclose(make_napari_viewer):
    from napari_microstructure._layers import detections_from_layer, detections_layer_kwargs

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "img"))
    # an object on rows 30..39 and columns 10..19: edges at 10 and 20 (x2 exclusive)
    df = pd.DataFrame(
        {"x1": [10.0], "y1": [30.0], "x2": [20.0], "y2": [40.0], "confidence": [0.9]}
        | {"class_id": [0], "class_name": ["pore"]}
    )
    layer = viewer.add_shapes(**detections_layer_kwargs(df, 0.5, "boxes", image))
    world = np.array([layer.data_to_world(v) for v in layer.data[0]])
    first = np.asarray(image.data_to_world([30 - 0.5, 10 - 0.5]))  # first pixel's outer corner
    last = np.asarray(image.data_to_world([39 + 0.5, 19 + 0.5]))  # last pixel's outer corner
    np.testing.assert_allclose(world.min(0), first)
    np.testing.assert_allclose(world.max(0), last)
    # read back the same pixel box, with the image and from the layer's own pixel size
    back = detections_from_layer(layer, image=image)[["x1", "y1", "x2", "y2"]].to_numpy()
    np.testing.assert_allclose(back, [[10, 30, 20, 40]])
    plain = detections_from_layer(layer)[["x1", "y1", "x2", "y2"]].to_numpy()
    np.testing.assert_allclose(plain, [[10, 30, 20, 40]])


def test_a_piece_cut_at_a_seam_inside_a_tile_that_saw_it_whole_is_dropped():
    from napari_microstructure.core.detect.tiling import seen_whole_elsewhere, tile_grid

    tiles = tile_grid((320, 560), 320, 80)  # x 0..320 and 240..560
    assert [(t.x0, t.x1) for t in tiles] == [(0, 320), (240, 560)]
    boxes = np.array(
        [
            [306.0, 134.0, 320.0, 150.0],  # cut by tile 0's right edge, well inside tile 1
            [230.0, 134.0, 320.0, 150.0],  # cut by tile 0, reaches past tile 1's left edge
            [300.0, 100.0, 330.0, 120.0],  # tile 1's own box: never judged against itself
        ]
    )
    seen = seen_whole_elsewhere(boxes, np.array([0, 0, 1]), tiles, margin=2.0)
    assert seen.tolist() == [True, False, False]


def test_missing_data_is_mid_grey_whatever_the_offset():
    from napari_microstructure.core.detect.infer import _intensity_range, _to_u8

    rng = np.random.default_rng(0)
    base = rng.normal(1000.0, 50.0, (64, 64)).astype(np.float32)
    base[20:40, 20:40] = np.nan
    outs = []
    for offset in (0.0, -5000.0):
        img = base + offset
        outs.append(_to_u8(img, _intensity_range(img)))
    assert np.array_equal(outs[0], outs[1])
    hole = outs[0][20:40, 20:40]
    assert np.all(np.abs(hole.astype(int) - 128) <= 1)  # neither a dark nor a bright object


def test_yolo_dataset_drops_alpha_and_quotes_class_names(tmp_path):
    import cv2
    import yaml

    from napari_microstructure.core.detect.yolo_files import write_yolo_dataset

    red = np.zeros((8, 8, 4), np.uint8)
    red[..., 0], red[..., 3] = 255, 200
    names = ["oxide: Al2O3", "null", "# void", "yes"]
    write_yolo_dataset([(red, [])], tmp_path, "train", names)
    back = cv2.imread(str(tmp_path / "images" / "train" / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert back.shape == (8, 8, 3)
    assert back[0, 0].tolist() == [0, 0, 255]  # BGR: red
    doc = yaml.safe_load((tmp_path / "data.yaml").read_text(encoding="utf-8"))
    assert doc["names"] == dict(enumerate(names))
    assert doc["train"] == "images/train"


def test_an_object_across_a_seam_gives_one_box():
    """The reviewer's case: an inclusion across the seam no longer brings a stray piece."""
    from _detect_data import demo_detector

    from napari_microstructure.core.detect import detect
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.synthetic import generate

    det = demo_detector()
    m = generate(
        "defects", shape=(320, 320), pixel_size=0.5, seed=3, n_inclusions=3, n_pores=3,
        n_cracks=0, n_precipitates=0, n_scratches=0,
    )  # fmt: skip
    img = m.image if m.image.ndim == 2 else m.image[..., 0]
    c = generate(
        "defects", shape=(320, 560), pixel_size=0.5, seed=99, n_inclusions=0, n_pores=0,
        n_cracks=0, n_precipitates=0, n_scratches=0,
    )  # fmt: skip
    canvas = (c.image if c.image.ndim == 2 else c.image[..., 0]).copy()
    x1, y1, x2, y2 = m.objects[0]["bbox"]  # an inclusion of 86 px, longer than the overlap
    patch = img[y1 - 6 : y2 + 6, x1 - 6 : x2 + 6]
    top = 150 - patch.shape[0] // 2
    canvas[top : top + patch.shape[0], 305 : 305 + patch.shape[1]] = patch
    df = run_to_end(detect(canvas, det, pixel_size=0.5, conf=0.3))
    assert df.attrs["n_tiles"] == 2
    gx1 = 305 + 6
    near = df[(df["x2"] > gx1) & (df["x1"] < gx1 + (x2 - x1)) & (df["y2"] > top)]
    assert len(near) == 1, near
