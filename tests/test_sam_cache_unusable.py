"""A cache folder that cannot be written (full, read-only, in the way of a file) costs the SAM
path its cache, never its embedding or the plugin's import."""

from __future__ import annotations

import logging
import os
import time

import numpy as np
from _notices import captured_messages

import napari_microstructure.core.refine.sam_cache as sam_cache
import napari_microstructure.widgets.refine as refine_mod
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core import paths
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine.sam_engine import SamEngine
from napari_microstructure.core.synthetic import generate
from napari_microstructure.core.yolo_env import configure_offline
from napari_microstructure.widgets.refine import RefineWidget


def _full_disk(*_args, **_kwargs):
    raise OSError(28, "No space left on device")


def _image():
    img = np.full((200, 220, 3), 60, np.uint8)
    img[40:140, 50:170] = (200, 180, 90)
    return img


def test_a_full_cache_keeps_the_embedding_and_says_why(
    tiny_sam_checkpoint, cache_home, monkeypatch
):
    monkeypatch.setattr(sam_cache, "atomic_file", _full_disk)
    eng = SamEngine(tiny_sam_checkpoint)
    run_to_end(eng.set_image(_image()))  # raised OSError: the embedding was thrown away
    masks, _ = eng.predict(np.array([[90.0, 100.0]]), np.array([1]))
    assert masks.shape == (3, 200, 220)
    assert "could not be saved to the cache" in eng.cache_problem
    assert "No space left" in eng.cache_problem
    assert not list(cache_home.rglob("*.pt"))


def test_torch_write_errors_count_as_a_full_cache(tiny_sam_checkpoint, cache_home, monkeypatch):
    def torch_full(*_args, **_kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")

    monkeypatch.setattr(sam_cache.torch, "save", torch_full)
    eng = SamEngine(tiny_sam_checkpoint)
    run_to_end(eng.set_image(_image()))
    assert "unexpected pos" in eng.cache_problem
    assert not [p for p in cache_home.rglob("*") if p.is_file()]  # no temp file left


def test_an_unreadable_cache_folder_is_an_empty_cache(
    tiny_sam_checkpoint, cache_home, monkeypatch
):
    def denied():
        raise PermissionError(13, "Permission denied", str(cache_home))

    monkeypatch.setattr(sam_cache, "cache_dir", denied)
    eng = SamEngine(tiny_sam_checkpoint)
    run_to_end(eng.set_image(_image()))
    assert not eng.from_cache and "Permission denied" in eng.cache_problem


def test_the_dock_warns_once_the_image_is_ready(
    make_napari_viewer,
    settings_home,
    tiny_sam_checkpoint,
    cache_home,
    wait_idle,
    qtbot,
    monkeypatch,
):
    monkeypatch.setattr(sam_cache, "atomic_file", _full_disk)
    told = captured_messages(monkeypatch, refine_mod)
    viewer = make_napari_viewer()
    m = generate("tint", shape=(160, 180), seed=1)
    w = RefineWidget(viewer)
    w.image_layer = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "T"))
    w.engine_name, w.checkpoint = "sam", str(tiny_sam_checkpoint)
    w.add_click(80, 90)
    wait_idle(w)
    qtbot.waitUntil(lambda: not w.predicting, timeout=60_000)
    assert w.ready and w.labels_layer.data.max() == 1  # the click got its mask
    assert any("could not be saved to the cache" in t for t in told)


def test_temp_files_of_killed_writes_are_removed(cache_home):
    folder = sam_cache.embeddings_dir()
    stale, fresh = folder / ".abc.pt.x1.tmp", folder / ".def.pt.x2.tmp"
    stale.write_bytes(b"0" * 1000)
    fresh.write_bytes(b"0" * 1000)  # a write that may still be running elsewhere
    old = time.time() - 2 * sam_cache.STALE_TEMP_S
    os.utime(stale, (old, old))
    sam_cache.save_embeddings("k" * 32, {"embeddings": np.zeros(3)})
    assert not stale.exists() and fresh.exists()


def test_a_cache_folder_that_cannot_be_made_falls_back_to_a_temp_folder(
    tmp_path, monkeypatch, caplog
):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING):
        folder = paths.cache_dir()  # raised NotADirectoryError (and so did the import)
    assert folder.is_dir() and not folder.is_relative_to(blocker)
    assert any("cannot use" in r.getMessage() for r in caplog.records)


def test_offline_setup_survives_a_read_only_config_folder(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(blocker / "ultralytics"))
    with caplog.at_level(logging.WARNING):
        cfg = configure_offline()  # raised NotADirectoryError at import before
    assert cfg == blocker / "ultralytics"
    assert os.environ["YOLO_OFFLINE"] == "1"
    assert any("fonts" in r.getMessage() for r in caplog.records)
