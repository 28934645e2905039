"""A Labels layer saved with the plugin's writer keeps its features table (class names, scores,
...) and reopens with it: nothing the expert typed is lost on File > Save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure import _reader
from napari_microstructure._reader import read_layers
from napari_microstructure._writer import write_image, write_labels
from napari_microstructure.core.atomic import (
    FEATURES_TAG,
    LABELS_MARK,
    atomic_write_tiff,
    written_as_labels,
    written_features,
)

PLUGIN = "napari-microstructure"


def _objects(dtype=np.uint16) -> np.ndarray:
    labels = np.zeros((40, 60), dtype)
    labels[5:15, 5:20] = 1
    labels[20:35, 30:55] = 2
    return labels


def _refined() -> pd.DataFrame:
    """Refine's columns (labels_edit.COLUMNS and BOX_COLUMNS), one row per object."""
    return pd.DataFrame(
        {
            "index": np.array([1, 2], np.int64),
            "class_name": pd.Series(["pore", "inclusion"], dtype=object),
            "score": np.array([0.91, 0.42]),
            "engine": pd.Series(["sam", "expert"], dtype=object),
            "box_x1": [5.0, 30.0],
            "box_y1": [5.0, 20.0],
            "box_x2": [20.0, 55.0],
            "box_y2": [15.0, 35.0],
        }
    )


def _reopen(path) -> tuple[np.ndarray, dict, str]:
    (layer,) = read_layers(str(path))
    return layer


def _assert_same(back: pd.DataFrame, table: pd.DataFrame) -> None:
    assert list(back.columns) == list(table.columns)
    assert list(back.dtypes) == list(table.dtypes)
    pd.testing.assert_frame_equal(back, table.reset_index(drop=True))


def test_labels_reopen_with_their_features(tmp_path):
    table = _refined()
    meta = {"scale": (0.5, 0.5), "units": ("µm", "µm"), "features": table}
    (path,) = write_labels(str(tmp_path / "objects.tif"), _objects(), meta)
    data, kwargs, kind = _reopen(path)
    assert kind == "labels"
    assert np.array_equal(data, _objects())
    _assert_same(kwargs["features"], table)


def test_awkward_values_round_trip(tmp_path):
    table = pd.DataFrame(
        {
            "index": np.array([0, 1, 70000], np.uint32),
            "class": pd.Categorical(
                ["pore", None, "crack"], categories=["crack", "pore", "void"], ordered=True
            ),
            "score": np.array([np.nan, 0.5, np.inf], np.float32),
            "note": pd.Series([np.float64(2.5), None, "µm-sized"], dtype=object),
            "flag": np.array([True, False, True]),
            "count": pd.array([3, None, 2**60], dtype="Int64"),
            "mixed": pd.Series([np.int32(7), np.bool_(True), (1, 2)], dtype=object),
        }
    )
    (path,) = write_labels(str(tmp_path / "odd.tif"), _objects(np.uint32), {"features": table})
    back = _reopen(path)[1]["features"]
    assert list(back.dtypes) == list(table.dtypes)
    assert np.isnan(back["score"][0]) and back["score"][2] == np.inf
    assert list(back["class"].cat.categories) == ["crack", "pore", "void"]
    assert back["class"].cat.ordered and pd.isna(back["class"][1])
    assert back["note"].tolist() == [2.5, None, "µm-sized"]
    assert back["count"][2] == 2**60 and back["count"][1] is pd.NA
    assert back["mixed"].tolist() == [7, True, [1, 2]]
    for name in ("index", "flag"):
        assert back[name].tolist() == table[name].tolist()


def test_empty_table_keeps_its_columns_and_no_table_writes_no_tag(tmp_path):
    columns = {"index": pd.Series(dtype="int64"), "class_name": pd.Series(dtype=object)}
    empty = pd.DataFrame(columns)
    (path,) = write_labels(str(tmp_path / "empty.tif"), _objects(), {"features": empty})
    _assert_same(_reopen(path)[1]["features"], empty)
    for i, meta in enumerate(({}, {"features": pd.DataFrame()}, {"features": None})):
        (path,) = write_labels(str(tmp_path / f"none{i}.tif"), _objects(), meta)
        with tifffile.TiffFile(path) as tif:
            assert FEATURES_TAG not in tif.pages.first.tags
        assert "features" not in _reopen(path)[1]


def test_rows_need_not_match_the_ids(tmp_path):
    """napari keeps any number of rows for Labels (no num_data): ids without a row, rows of
    ids painted out, all kept as they were."""
    table = pd.DataFrame({"index": [2, 9, 11], "class_name": ["pore", "gone", "gone too"]})
    (path,) = write_labels(str(tmp_path / "rows.tif"), _objects(), {"features": table})
    _assert_same(_reopen(path)[1]["features"], table)


def test_old_mark_still_read_and_description_unchanged(tmp_path):
    old = tmp_path / "old.tif"
    tifffile.imwrite(old, _objects(np.uint8), description=LABELS_MARK)  # as written before
    assert written_as_labels(old)
    assert written_features(old) is None
    assert _reopen(old)[2] == "labels"
    (path,) = write_labels(str(tmp_path / "new.tif"), _objects(np.uint8), {"features": _refined()})
    with tifffile.TiffFile(path) as tif:  # the mark is still the whole description
        assert tif.pages.first.description == LABELS_MARK
    assert written_as_labels(path)
    assert _reopen(path)[2] == "labels"


def test_images_and_other_writers_write_no_table(tmp_path):
    meta = {"features": _refined()}  # an Image layer has none; a caller's meta must not leak
    (path,) = write_image(str(tmp_path / "image.tif"), _objects().astype(np.float32), meta)
    plain = atomic_write_tiff(tmp_path / "plain.tif", _objects(), 0.5, labels=True)
    for p in (path, plain):
        with tifffile.TiffFile(p) as tif:
            assert FEATURES_TAG not in tif.pages.first.tags
        assert written_features(p) is None


def test_a_foreign_or_damaged_tag(tmp_path, monkeypatch):
    foreign = tmp_path / "foreign.tif"
    tag = [(FEATURES_TAG, "s", 0, "another program's data", True)]
    tifffile.imwrite(foreign, _objects(np.uint32), description=LABELS_MARK, extratags=tag)
    assert written_features(foreign) is None
    damaged = tmp_path / "damaged.tif"
    text = '{"format":"napari-microstructure features","version":1,"rows":3,"columns":['
    tag = [(FEATURES_TAG, "s", 0, text, True)]
    tifffile.imwrite(damaged, _objects(np.uint32), description=LABELS_MARK, extratags=tag)
    with pytest.raises(ValueError, match="damaged"):
        written_features(damaged)
    told: list[str] = []
    monkeypatch.setattr(_reader, "show_warning", told.append)
    data, kwargs, kind = _reopen(damaged)
    assert kind == "labels" and "features" not in kwargs
    assert len(told) == 1 and "damaged" in told[0] and "without their features" in told[0]


def test_stack_keeps_one_table(tmp_path):
    stack = np.stack([_objects(), _objects() * 3])
    table = pd.DataFrame({"index": [1, 2, 3, 6], "class_name": ["a", "b", "c", "d"]})
    meta = {"scale": (1.0, 0.5, 0.5), "features": table}
    (path,) = write_labels(str(tmp_path / "stack.tif"), stack, meta)
    data, kwargs, _ = _reopen(path)
    assert data.shape == stack.shape
    _assert_same(kwargs["features"], table)


def test_a_large_table_round_trips(tmp_path):
    n = 20000
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "index": np.arange(1, n + 1),
            "class_name": rng.choice(["pore", "inclusion", "crack"], n).astype(object),
            "score": rng.random(n),
            "engine": ["sam"] * n,
            **{c: rng.random(n) * 1000 for c in ("box_x1", "box_y1", "box_x2", "box_y2")},
        }
    )
    data = np.zeros((1000, 1000), np.uint32)
    write_labels(str(tmp_path / "big.tif"), data, {"features": table})
    _assert_same(_reopen(tmp_path / "big.tif")[1]["features"], table)


def test_napari_save_and_open_keep_the_features(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    table = _refined()
    layer = viewer.add_labels(
        _objects(), name="objects", scale=(0.5, 0.5), units=("µm", "µm"), features=table
    )
    viewer.layers.selection = {layer}
    path = tmp_path / "objects.tif"
    assert viewer.layers.save(str(path), selected=True, plugin=PLUGIN) == [str(path)]
    before = set(viewer.layers)
    viewer.open(str(path), plugin=PLUGIN)
    (reopened,) = [lay for lay in viewer.layers if lay not in before]
    assert reopened._type_string == "labels"
    _assert_same(reopened.features, table)
    # napari's status bar names the class of the object under the cursor (its "index" column)
    assert "pore" in reopened.get_status((5.0, 5.0), world=True)["coordinates"]
