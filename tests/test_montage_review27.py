"""Montages refused from their shape, at once: Refine with Segment Anything before any layer is
made (a 20000² click made a 1.6 GB objects layer first), and the Segment dock's live strokes
before the strokes are read, told once while painting (the memory budget is made small
instead of the image large)."""

from __future__ import annotations

import numpy as np
import pytest
from _notices import captured_messages

import napari_microstructure.core.image_utils as image_utils
from napari_microstructure.core.refine.sam_engine import (
    PUBLISHED_INPUT,
    PUBLISHED_TILE_BYTES,
    check_embedding_size,
)


def test_published_checkpoints_numbers_are_their_decoders():
    """The numbers the size rule uses before a checkpoint is loaded are those of the published
    models' decoder (256 channels on a 64 x 64 grid, the same for vit_b, vit_l and vit_h)."""
    from napari_microstructure.core.refine.sam_decode import FastDecoder
    from napari_microstructure.core.refine.sam_model import build_sam_from_config

    # the published decoder and input; the encoder's size does not change them
    sam = build_sam_from_config(16, 1, 1, [], image_size=PUBLISHED_INPUT)
    decoder = FastDecoder(sam)
    assert decoder.img_size == PUBLISHED_INPUT
    assert decoder.tile_bytes() == PUBLISHED_TILE_BYTES


def test_sam_size_rule_reads_only_the_shape(monkeypatch):
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 8 * 2**30)  # a 16 GiB machine
    check_embedding_size((8000, 8000))
    with pytest.raises(ValueError, match=r"20000x20000 px .* about 13 GiB"):
        check_embedding_size((20000, 20000, 3))


@pytest.fixture
def refine_dock(make_napari_viewer, settings_home, cache_home, tiny_sam_checkpoint, monkeypatch):
    from napari_microstructure.widgets import _base, refine

    told = captured_messages(monkeypatch, refine, _base)
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    image = viewer.add_image(rng.integers(80, 200, (256, 256), dtype=np.uint8), name="montage")
    w = refine.RefineWidget(viewer)
    w.engine_name, w.checkpoint = "sam", str(tiny_sam_checkpoint)
    yield viewer, image, w, told
    w.close()


def test_refine_sam_refuses_a_montage_before_making_its_layers(refine_dock, qtbot, monkeypatch):
    viewer, image, w, told = refine_dock
    # just over the published checkpoints' limit for this image (one tile)
    monkeypatch.setattr(image_utils, "memory_budget", lambda: PUBLISHED_TILE_BYTES)
    w.add_click(100, 100)
    assert [layer.name for layer in viewer.layers] == ["montage"]  # no objects, no prompts
    assert w.labels_layer is None and w.prompts_layer is None
    assert not w.busy and w.worker is None  # refused at once: no worker started
    assert len(told) == 1 and told[0].startswith("Refine: image of 256x256 px"), told
    assert "too large to segment at once" in told[0]
    w.prepare()  # the button too
    assert [layer.name for layer in viewer.layers] == ["montage"] and len(told) == 2


def test_refine_sam_rule_takes_the_loaded_models_numbers(refine_dock, qtbot, monkeypatch):
    viewer, image, w, told = refine_dock
    w.add_click(100, 100)
    qtbot.waitUntil(lambda: not w.busy and not w.predicting, timeout=120_000)
    assert w.ready and w.labels_layer is not None and told == []
    h, w_ = image.data.shape
    tiny = 3 * h * w_ + w.engine.decoder.tile_bytes()  # one 256 px tile of the tiny model
    published = 3 * h * w_ + PUBLISHED_TILE_BYTES
    assert tiny < published
    # enough for the loaded (tiny) model, not for a published one
    monkeypatch.setattr(image_utils, "memory_budget", lambda: (tiny + published) // 2)
    w.new_object()
    w.add_click(60, 60)
    qtbot.waitUntil(lambda: not w.busy and not w.predicting, timeout=120_000)
    assert told == [] and len(w.prompts_layer.data) == 1


@pytest.fixture
def segment_dock(make_napari_viewer, settings_home, monkeypatch):
    from napari_microstructure.widgets import _base, _scribble, segment

    told = captured_messages(monkeypatch, segment, _scribble, _base)
    viewer = make_napari_viewer()
    w = segment.SegmentWidget(viewer)
    yield viewer, w, told
    w.close()


def _spy(monkeypatch, owner, name, calls):
    original = getattr(owner, name)

    def spy(*args, **kw):
        calls.append(name)
        return original(*args, **kw)

    monkeypatch.setattr(owner, name, spy)


def test_live_strokes_on_a_montage_are_refused_before_reading_them_and_told_once(
    segment_dock, qtbot, monkeypatch
):
    from napari_microstructure.widgets import _scribble

    viewer, w, told = segment_dock
    # the features' rule (250 bytes a pixel, grey): 64 x 64 fits, 65 x 64 does not
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 250 * 64 * 64)
    rng = np.random.default_rng(1)
    w.image_layer = viewer.add_image(rng.integers(0, 255, (65, 64), np.uint8), name="montage")
    assert w.live  # the default
    scribbles = w.add_scribbles_layer()
    steps: list[str] = []  # the checksum, unique and copy of the strokes come after these
    for name in ("read_pixels", "displayed_plane", "scribbles_array"):
        _spy(monkeypatch, _scribble, name, steps)
    _spy(monkeypatch, type(w), "_start", steps)  # no worker started
    for k, label in enumerate((1, 2, 1, 2, 1)):
        scribbles.paint((8 + 10 * k, 8 + 10 * k), label)
        qtbot.waitUntil(lambda: not w._timer.isActive() and not w.busy, timeout=60_000)
    assert steps == []  # nothing read, copied or started
    assert len(told) == 1, told  # said once while painting
    assert "65x64 px" in told[0] and "too large" in told[0] and "montage" in told[0]
    assert "too large" in w.status
    w.predict_scribbles()  # asked for: told every time
    w.predict_scribbles()
    assert len(told) == 3 and told[1] == told[2] == told[0] and steps == []


@pytest.mark.parametrize("shape", [(64, 64), (65, 64), (42, 42, 3), (43, 43, 3)])
def test_segment_dock_refuses_what_the_pixel_classifier_refuses(segment_dock, monkeypatch, shape):
    from napari_microstructure.core.segment import ScribbleClassifier

    viewer, w, told = segment_dock
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 250 * 64 * 64)
    arr = np.zeros(shape, np.uint8)
    layer = viewer.add_image(arr, name="im", rgb=len(shape) == 3)
    try:
        ScribbleClassifier().set_image(arr)
        core_refuses = False
    except ValueError:
        core_refuses = True
    assert w._refused_size(layer, quiet=True) == core_refuses
    assert len(told) == int(core_refuses)
