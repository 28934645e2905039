"""Review 27 of the SAM path: clicks far apart on a tiled image, and a cache limit of NaN."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from _notices import captured_messages

import napari_microstructure.core.refine.sam_continue as sam_continue
import napari_microstructure.widgets.refine as refine_mod
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core import settings
from napari_microstructure.core.lru_files import limit_bytes
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import PromptError
from napari_microstructure.core.refine.sam_cache import embeddings_dir
from napari_microstructure.core.refine.sam_engine import SamEngine
from napari_microstructure.widgets.refine import RefineWidget

POS = np.array([[100.0, 60.0]])
FAR_NEG = np.array([[100.0, 460.0]])  # 400 px right of the click: in no tile holding it


def _image() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(rng.normal(100, 30, (200, 480, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def engine(tiny_sam_checkpoint):
    eng = SamEngine(tiny_sam_checkpoint, use_cache=False)
    run_to_end(eng.set_image(_image()))  # 256 px tiles at cols 0, 112 and 224
    assert len(eng.tiles) == 3
    return eng


@pytest.fixture
def decoded(engine, monkeypatch):
    """The (tile size in model px, click coordinates) of every decoder pass."""
    seen = []
    real = engine.decoder.decode

    def spy(prep, coords, labels, box):
        i = next(k for k, p in enumerate(engine._prepared) if p is prep)
        t = engine.tiles[i]
        s = t.scale(engine.img_size)
        seen.append(((t.w * s, t.h * s), None if coords is None else np.array(coords)))
        return real(prep, coords, labels, box)

    monkeypatch.setattr(engine.decoder, "decode", spy)
    return seen


def test_a_far_negative_click_leaves_the_positive_clicks_mask(engine, decoded):
    alone, alone_scores = engine.predict(POS, np.array([1]))
    decoded.clear()
    both, scores = engine.predict(np.vstack([POS, FAR_NEG]), np.array([1, 0]))
    # decoded in the middle tile before, with the clicks at x = -52 and 348: 3982 px changed
    assert np.array_equal(both[:, :, :200], alone[:, :, :200])
    assert np.array_equal(scores, alone_scores)
    assert both[0][100, 60]
    assert decoded
    for (w, h), coords in decoded:  # the decoder never gets a click outside its tile
        assert coords is not None
        assert (coords >= 0).all() and (coords[:, 0] <= w).all() and (coords[:, 1] <= h).all()


def test_a_click_on_the_images_edge_pixels_is_decoded(engine):
    """check_prompts takes a click up to half a pixel past the last pixel centre."""
    h, w = engine._shape
    for row, col in [(h - 0.6, w - 0.6), (-0.4, -0.4), (h - 0.6, 200.0)]:
        masks, _ = engine.predict(np.array([[row, col]]), np.array([1]))
        assert masks.shape[1:] == (h, w) and masks[0].any()


def test_positive_clicks_no_tile_holds_are_refused(engine):
    with pytest.raises(PromptError, match="too far apart.*draw a box around the object"):
        engine.predict(np.vstack([POS, FAR_NEG]), np.array([1, 1]))
    # clicks one tile holds are decoded there, whichever tile would suit each alone
    masks, _ = engine.predict(np.array([[100.0, 60.0], [100.0, 240.0]]), np.array([1, 1]))
    assert masks.shape == (3, 200, 480)


def test_the_dock_shows_the_refusal_and_keeps_the_labels(
    make_napari_viewer,
    settings_home,
    cache_home,
    tiny_sam_checkpoint,
    wait_idle,
    qtbot,
    monkeypatch,
):
    told = captured_messages(monkeypatch, refine_mod)
    viewer = make_napari_viewer()
    w = RefineWidget(viewer)
    w.image_layer = viewer.add_image(_image(), **image_layer_kwargs(None, "wide"))
    w.engine_name, w.checkpoint = "sam", str(tiny_sam_checkpoint)
    w.add_click(100, 60)
    wait_idle(w)
    qtbot.waitUntil(lambda: not w.predicting, timeout=60_000)
    before = np.array(w.labels_layer.data)
    assert before.max() == 1
    w.add_click(100, 460)  # a second positive click 400 px away
    qtbot.waitUntil(lambda: not w.predicting, timeout=60_000)
    assert any("too far apart" in t for t in told)
    assert np.array_equal(w.labels_layer.data, before)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400", "1e300"])
def test_a_cache_limit_that_is_no_finite_number_is_the_default(
    text, settings_home, cache_home, tiny_sam_checkpoint, caplog
):
    settings_home.mkdir(parents=True, exist_ok=True)
    (settings_home / "settings.json").write_text(f'{{"sam_cache_limit_gib": {text}}}')
    with caplog.at_level(logging.WARNING):
        assert limit_bytes("sam_cache_limit_gib", 4.0) == 4 * 2**30
        assert limit_bytes("sam_cache_limit_gib", 4.0) == 4 * 2**30
    eng = SamEngine(tiny_sam_checkpoint)
    run_to_end(eng.set_image(_image()[:150, :150]))  # failed: cannot convert float NaN
    assert eng.cache_problem is None and len(list(embeddings_dir().glob("*.pt"))) == 1


def test_the_unusable_limit_is_told_once(settings_home, caplog, monkeypatch):
    monkeypatch.setattr(settings, "_told", set())  # told once a session: a fresh session
    settings_home.mkdir(parents=True, exist_ok=True)
    (settings_home / "settings.json").write_text('{"explain_cache_limit_gib": NaN}')
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert limit_bytes("explain_cache_limit_gib", 2.0) == 2 * 2**30
    told = [r for r in caplog.records if "explain_cache_limit_gib" in r.getMessage()]
    assert len(told) == 1 and "not a finite number" in told[0].getMessage()
    (settings_home / "settings.json").write_text('{"explain_cache_limit_gib": -1}')
    assert limit_bytes("explain_cache_limit_gib", 2.0) == 0  # a negative limit keeps as 0 did


def test_a_negative_click_outside_the_tile_counts_where_the_mask_goes_on(engine, monkeypatch):
    monkeypatch.setattr(sam_continue, "MIN_AGREEMENT", 0.0)  # every neighbour agrees
    seen = []
    real = engine._decode
    monkeypatch.setattr(engine, "_decode", lambda i, pr: (seen.append((i, pr)), real(i, pr))[1])
    pts = np.array([[100.0, 240.0], [50.0, 20.0]])  # the negative only in the left tile
    engine.predict(pts, np.array([1, 0]))
    assert seen[0][0] == 1  # the positive click sits most centrally in the middle tile
    left = [pr for i, pr in seen if i == 0]
    assert left and all(pr.labels[-1] == 0 and np.allclose(pr.points[-1], pts[1]) for pr in left)
