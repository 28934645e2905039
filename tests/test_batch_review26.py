"""Batch: a file that stays empty under --watch is told once."""

from __future__ import annotations

import functools
import logging
import os

from napari_microstructure.core.batch import CompletionTracker, run_batch
from napari_microstructure.core.pipeline import PipelineConfig


def test_an_empty_file_is_told_once_after_a_while_and_again_after_it_changed(tmp_path):
    path = tmp_path / "acq.tif"
    path.write_bytes(b"")
    tracker = CompletionTracker(settle_s=1.0, empty_s=10.0)
    assert not tracker.complete(path, now=0.0)
    assert not tracker.long_empty(path, now=0.0)
    assert not tracker.complete(path, now=9.0) and not tracker.long_empty(path, now=9.0)
    assert not tracker.complete(path, now=11.0) and tracker.long_empty(path, now=11.0)
    assert not tracker.long_empty(path, now=30.0)  # once
    path.write_bytes(b"12")
    path.write_bytes(b"")
    os.utime(path, (1, 1))  # changed (its time), empty again
    assert not tracker.complete(path, now=31.0)
    assert not tracker.long_empty(path, now=35.0)
    assert tracker.long_empty(path, now=41.5)
    full = tmp_path / "full.tif"
    full.write_bytes(b"data")
    tracker.complete(full, now=0.0)
    assert not tracker.long_empty(full, now=100.0)  # not empty
    assert not tracker.long_empty(tmp_path / "never_seen.tif", now=100.0)


def test_watch_tells_a_file_that_stays_empty(tmp_path, monkeypatch, caplog):
    import napari_microstructure.core.batch.run as run_module

    src = tmp_path / "in"
    src.mkdir()
    (src / "stuck.tif").write_bytes(b"")
    monkeypatch.setattr(
        run_module, "CompletionTracker", functools.partial(CompletionTracker, empty_s=0.5)
    )
    with caplog.at_level(logging.WARNING, logger="napari_microstructure"):
        res = run_batch(
            src,
            tmp_path / "out",
            PipelineConfig(),
            workers=0,
            watch=True,
            poll_s=0.1,
            settle_s=0.2,
            max_idle_s=1.5,
        )
    assert res.processed == 0
    told = [r.getMessage() for r in caplog.records if "still empty" in r.getMessage()]
    assert len(told) == 1 and told[0].startswith("stuck.tif"), told
