"""Which files a batch takes and their result keys: stable, collision-free, clear when empty."""

from __future__ import annotations

import pytest

from napari_microstructure.cli import main
from napari_microstructure.core.batch import list_inputs, run_batch
from napari_microstructure.core.pipeline import PipelineConfig


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"1")
    return path


def _keys(source, **kw):
    return {i.key: i.path.name for i in list_inputs(source, **kw)}


def test_glob_keys_do_not_move_when_a_new_folder_matches(tmp_path):
    _touch(tmp_path / "s1" / "a.tif")
    pattern = str(tmp_path / "*" / "*.tif")
    before = _keys(pattern)
    _touch(tmp_path / "s2" / "b.tif")
    after = _keys(pattern)
    # relative to the pattern's fixed folder, not to the common parent of the matches
    assert before == {"s1__a.tif": "a.tif"}
    assert after == {"s1__a.tif": "a.tif", "s2__b.tif": "b.tif"}


def test_nested_and_top_level_names_get_distinct_keys(tmp_path):
    _touch(tmp_path / "a" / "b.tif")
    _touch(tmp_path / "a__b.tif")
    _touch(tmp_path / "x_" / "_y.tif")
    _touch(tmp_path / "x" / "__y.tif")
    _touch(tmp_path / "plain_name.tif")
    items = list_inputs(tmp_path, recursive=True)
    keys = [i.key for i in items]
    assert len(items) == 5 and len(set(keys)) == 5
    by_path = {i.path.relative_to(tmp_path).as_posix(): i.key for i in items}
    # ordinary names keep the keys of earlier runs, so those still resume
    assert by_path["a/b.tif"] == "a__b.tif"
    assert by_path["plain_name.tif"] == "plain_name.tif"
    assert by_path["a__b.tif"] == "a%5F%5Fb.tif"


def test_a_file_with_brackets_is_a_file_not_a_pattern(tmp_path):
    path = _touch(tmp_path / "scan[1].tif")
    assert [(i.path, i.key) for i in list_inputs(str(path))] == [(path, "scan[1].tif")]


def test_a_pattern_matching_nothing_is_an_error(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no such folder, file or matching pattern"):
        list_inputs(str(tmp_path / "*.png"))
    args = ["batch", str(tmp_path / "*.png"), "--out", str(tmp_path / "o"), "--workers", "0"]
    assert main([*args, "--no-progress"]) == 2
    assert "no such folder, file or matching pattern" in capsys.readouterr().err


def test_watching_a_pattern_that_matches_nothing_yet(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    res = run_batch(
        str(src / "*.tif"), tmp_path / "out", PipelineConfig(), workers=0, watch=True,
        poll_s=0.1, max_idle_s=0.2, report=False,
    )  # fmt: skip
    assert res.processed == 0
