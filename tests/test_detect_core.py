"""Detection core: tiling and merging, scale-aware inference, model loading, summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_microstructure.core.detect import (
    class_summary,
    detect,
    merge_tile_boxes,
    resolve_classes,
    tile_grid,
)
from napari_microstructure.core.detect.tiling import touches_inner_edge
from napari_microstructure.core.progress import Progress, run_to_end


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


# -- tiling, pure -------------------------------------------------------------------------------
def test_tile_grid_covers_image_with_overlap():
    tiles = tile_grid((1000, 700), 384, 96)
    cover = np.zeros((1000, 700), int)
    for t in tiles:
        cover[t.y0 : t.y1, t.x0 : t.x1] += 1
        assert t.y1 - t.y0 == 384 and t.x1 - t.x0 == 384
    assert cover.min() >= 1
    xs = sorted({t.x0 for t in tiles})
    assert all(b - a <= 384 - 96 for a, b in zip(xs, xs[1:], strict=False))
    assert tile_grid((100, 50), 384, 96)[0].inner == (False, False, False, False)


def test_merge_drops_cut_copy_and_joins_long_object():
    # tile A = x 0..384, tile B = x 288..672 (inner edges at x=384 for A, x=288 for B)
    a = tile_grid((384, 672), 384, 96)
    assert len(a) == 2
    boxes = np.array(
        [
            [350, 50, 384, 80],  # object cut by A's right edge ...
            [350, 50, 400, 80],  # ... whole in B
            [100, 200, 384, 210],  # long crack cut by A's right edge
            [288, 200, 600, 212],  # the same crack cut by B's left edge
            [10, 10, 30, 30],  # ordinary object in A only
        ],
        float,
    )
    tile_of = [0, 1, 0, 1, 0]
    cut = np.array(
        [touches_inner_edge(boxes[i : i + 1], a[t], 2.0)[0] for i, t in enumerate(tile_of)]
    )
    assert cut.tolist() == [True, False, True, True, False]
    b, s, c = merge_tile_boxes(
        boxes, np.array([0.6, 0.9, 0.8, 0.7, 0.95]), np.zeros(5, int), cut, iou=0.5
    )
    assert len(b) == 3
    got = sorted(map(tuple, b.round().astype(int).tolist()))
    assert got == sorted([(350, 50, 400, 80), (100, 200, 600, 212), (10, 10, 30, 30)])


def test_resolve_classes_by_name_and_id():
    names = {0: "pore", 1: "crack"}
    assert resolve_classes(["Crack", 0], names) == [1, 0]
    assert resolve_classes(None, names) is None
    with pytest.raises(ValueError, match="unknown class 'scratchy'"):
        resolve_classes(["scratchy"], names)
    with pytest.raises(ValueError, match="unknown class id 5"):
        resolve_classes([5], names)


def test_class_summary_numbers():
    df = pd.DataFrame(
        {
            "x1": [0.0, 10, 50],
            "y1": [0.0, 10, 50],
            "x2": [10.0, 20, 70],
            "y2": [10.0, 30, 60],
            "confidence": [0.9, 0.5, 0.7],
            "class_id": [0, 0, 1],
            "class_name": ["pore", "pore", "crack"],
        }
    )
    s = class_summary(df, (100, 200), pixel_size=2.0, class_names=["pore", "crack", "inclusion"])
    s = s.set_index("class_name")
    area_mm2 = 100 * 200 * (2e-3) ** 2
    assert s.loc["pore", "count"] == 2 and s.loc["inclusion", "count"] == 0
    assert s.loc["pore", "per_mm2"] == pytest.approx(2 / area_mm2)
    assert s.loc["pore", "area_fraction"] == pytest.approx((100 + 200) / 20000)
    assert s.loc["crack", "area_fraction"] == pytest.approx(200 / 20000)
    assert np.isnan(class_summary(df, (100, 200)).loc[0, "per_mm2"])


# -- with the demo model --------------------------------------------------------------------------
def test_tiled_inference_finds_border_objects_once(demo_detector, defects_big):
    image, objects = defects_big
    size = demo_detector.imgsz
    assert min(image.shape) >= 4 * size
    gen = detect(image, demo_detector, pixel_size=0.5, conf=0.3)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            df = stop.value
            break
    n_tiles = df.attrs["n_tiles"]
    assert n_tiles >= 16 and steps[-1] == Progress(n_tiles, n_tiles, f"tile {n_tiles}/{n_tiles}")
    tiles = tile_grid(image.shape, size, size // 4)
    gt = np.array([o["bbox"] for o in objects], float)
    border = np.zeros(len(gt), bool)
    for t in tiles:  # objects crossing an inner tile edge
        for edge_x in [t.x1] if t.inner[2] else []:
            border |= (gt[:, 0] < edge_x) & (gt[:, 2] > edge_x)
        for edge_y in [t.y1] if t.inner[3] else []:
            border |= (gt[:, 1] < edge_y) & (gt[:, 3] > edge_y)
    assert border.sum() >= 8, "the test image must have objects on tile borders"
    det = df[["x1", "y1", "x2", "y2"]].to_numpy()
    iou = _iou(gt[border], det)
    matched = (iou >= 0.5).sum(axis=1)
    touching = (iou >= 0.1).sum(axis=1)
    assert (matched == 1).mean() >= 0.85, (matched, touching)
    assert touching.max() <= 1, "an object on a tile border was reported twice"


def test_scale_aware_same_objects_at_half_pixel_size(demo_detector, defects_small):
    import cv2

    image, _ = defects_small
    fine = cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    a = run_to_end(detect(image, demo_detector, pixel_size=0.5))
    b = run_to_end(detect(fine, demo_detector, pixel_size=0.25))
    assert b.attrs["scale_factor"] == pytest.approx(0.5)
    assert len(a) >= 5
    boxes_b = b[["x1", "y1", "x2", "y2"]].to_numpy() / 2.0
    iou = _iou(a[["x1", "y1", "x2", "y2"]].to_numpy(), boxes_b)
    best = iou.argmax(axis=1)
    same = (iou.max(axis=1) >= 0.7) & (a["class_id"].to_numpy() == b["class_id"].to_numpy()[best])
    assert same.mean() >= 0.9
    assert abs(len(a) - len(b)) <= max(1, len(a) // 10)
    # without the pixel size the fine image is used as is, and the user is told
    c = run_to_end(detect(fine, demo_detector))
    assert "no pixel size" in c.attrs["note"]


def test_detect_filters_and_validates(demo_detector, defects_small):
    image, _ = defects_small
    only = run_to_end(detect(image, demo_detector, pixel_size=0.5, classes=["pore"]))
    assert set(only["class_name"]) <= {"pore"}
    few = run_to_end(detect(image, demo_detector, pixel_size=0.5, max_det=2))
    assert len(few) == 2 and few["confidence"].is_monotonic_decreasing
    rgb = run_to_end(detect(np.repeat(image[..., None], 3, -1), demo_detector, pixel_size=0.5))
    grey = run_to_end(detect(image, demo_detector, pixel_size=0.5))
    assert len(rgb) == len(grey)
    u16 = run_to_end(detect(image.astype(np.uint16) * 257, demo_detector, pixel_size=0.5))
    assert len(u16) == len(grey)
    with pytest.raises(ValueError, match="between 0 and 1"):
        run_to_end(detect(image, demo_detector, conf=2.0))
    with pytest.raises(ValueError, match="2-D grey or RGB"):
        run_to_end(detect(np.zeros((2, 3, 4, 5), np.uint8), demo_detector))


@pytest.fixture(scope="module")
def demo_detector():
    from _detect_data import demo_detector as load

    return load()


@pytest.fixture(scope="module")
def defects_big(demo_detector):
    from _detect_data import defects_image

    # dense objects of the classes the demo model claims (model card): many on tile borders
    return defects_image(
        4 * demo_detector.imgsz,
        777,
        n_inclusions=30,
        n_pores=18,
        n_cracks=0,
        n_precipitates=45,
        n_scratches=0,
    )


@pytest.fixture(scope="module")
def defects_small():
    from _detect_data import defects_image

    return defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )


def test_a_piece_cut_at_a_seam_is_dropped_whatever_its_tile_called_it():
    tiles = tile_grid((320, 560), 320, 80)  # seams at x = 240 and 320
    boxes = np.array([[301.9, 77, 319, 95], [299.7, 76, 370.4, 96]])  # a piece, the whole
    cut = np.array(
        [
            touches_inner_edge(boxes[:1], tiles[0], 2)[0],
            touches_inner_edge(boxes[1:], tiles[1], 2)[0],
        ]
    )
    assert cut.tolist() == [True, False]
    b, _, c = merge_tile_boxes(boxes, np.array([0.3, 0.9]), np.array([3, 0]), cut, iou=0.5)
    assert len(b) == 1 and c.tolist() == [0]


@pytest.mark.parametrize("factor", [16, 64, 257])  # 12-, 14- and 16-bit data in 16-bit files
def test_wide_grey_levels_give_the_detections_of_the_8_bit_image(
    demo_detector, defects_small, factor
):
    image = defects_small[0]
    if image.ndim == 3:
        image = image[..., 0]
    want = run_to_end(detect(image, demo_detector, pixel_size=0.5, conf=0.3))
    wide = image.astype(np.uint16) * factor
    rgba = np.dstack([wide] * 3 + [np.full_like(wide, 65535)])  # opaque alpha: not a grey level
    for img in (wide, rgba):
        got = run_to_end(detect(img, demo_detector, pixel_size=0.5, conf=0.3))
        assert len(got) == len(want) and (got["class_name"] == want["class_name"]).all()
