"""YOLO export on non-square images, the split's guarantees, background-free instances."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.curate.items import ExportItem, item_objects
from napari_microstructure.core.curate.yolo import split_names, yolo_box_lines


def _parse(lines):
    return sorted(tuple(float(v) for v in line.split()) for line in lines)


def test_yolo_box_is_normalised_by_width_along_x_and_height_along_y():
    # 40 rows x 100 columns: a mix-up of width and height changes every number but bw
    item = ExportItem("wide", np.zeros((40, 100), np.uint8))
    item.boxes = [{"x1": 10, "y1": 20, "x2": 30, "y2": 30, "class_id": 0}]
    (line,) = _parse(yolo_box_lines(item))
    cls, cx, cy, bw, bh = line
    assert cls == 0
    assert cx == pytest.approx((10 + 30) / 2 / 100, abs=1e-6)
    assert cy == pytest.approx((20 + 30) / 2 / 40, abs=1e-6)
    assert bw == pytest.approx(20 / 100, abs=1e-6)
    assert bh == pytest.approx(10 / 40, abs=1e-6)


def test_yolo_box_of_an_instance_on_a_tall_image():
    inst = np.zeros((90, 30), np.int32)
    inst[60:90, 3:9] = 4  # rows 60..89, columns 3..8
    item = ExportItem("tall", np.zeros((90, 30), np.uint8), instances=inst, classes={4: 2})
    (line,) = _parse(yolo_box_lines(item))
    assert line == pytest.approx((2, 6 / 30, 75 / 90, 6 / 30, 30 / 90), abs=1e-6)


def test_instances_without_background_keep_every_grain():
    # the whole image is covered by two grains (ids 5 and 7): no pixel of id 0
    inst = np.full((10, 20), 5, np.int32)
    inst[:, 10:] = 7
    item = ExportItem("full", np.zeros((10, 20), np.uint8), instances=inst, classes={5: 1, 7: 0})
    objs = item_objects(item)
    assert len(objs) == 2
    by_class = {o.class_id: o for o in objs}
    assert by_class[1].box == (0.0, 0.0, 10.0, 10.0)
    assert by_class[0].box == (10.0, 0.0, 20.0, 10.0)
    assert all(o.mask.all() and o.mask.shape == (10, 10) for o in objs)
    lines = _parse(yolo_box_lines(item))
    assert lines == [
        pytest.approx((0, 0.75, 0.5, 0.5, 1.0), abs=1e-6),
        pytest.approx((1, 0.25, 0.5, 0.5, 1.0), abs=1e-6),
    ]


@pytest.mark.parametrize("n", [2, 3, 5])
def test_split_keeps_a_train_image_when_every_draw_falls_in_val(n):
    names = [f"img{i}.png" for i in range(n)]
    train, val = split_names(names, val_fraction=0.999999, seed=0)
    assert train and val
    assert sorted(train + val) == sorted(names) and not set(train) & set(val)
    assert len(train) == 1  # only the one needed to train moves out of val


@pytest.mark.parametrize("n", [2, 4])
def test_split_keeps_a_val_image_when_val_fraction_is_zero(n):
    names = [f"img{i}.png" for i in range(n)]
    train, val = split_names(names, val_fraction=0.0, seed=3)
    assert len(val) == 1 and len(train) == n - 1


def test_data_yaml_records_the_median_pixel_size(tmp_path):
    import yaml

    from napari_microstructure.core.curate.yolo import export_yolo_detect

    items = [
        ExportItem(f"im{i}", np.zeros((32, 48), np.uint8), pixel_size=ps, done=True)
        for i, ps in enumerate([0.1, 0.2, 0.9])
    ]
    export_yolo_detect(tmp_path / "ds", items, {"names": ["pore"]})
    doc = yaml.safe_load((tmp_path / "ds" / "data.yaml").read_text(encoding="utf-8"))
    assert doc["pixel_size_um"] == pytest.approx(0.2)  # the middle one, not the mean 0.4
