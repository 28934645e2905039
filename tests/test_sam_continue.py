"""A SAM click whose mask reaches the edge of its tile is continued in the neighbouring tiles."""

from __future__ import annotations

import numpy as np
import pytest
from _refine_tiny_sam import save_tiny_checkpoint

import napari_microstructure.core.refine.sam_continue as sam_continue
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import check_prompts
from napari_microstructure.core.refine.sam_engine import SamEngine
from napari_microstructure.core.synthetic import generate

CLICK = (np.array([[100.0, 250.0]]), np.array([1]))


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path_factory.mktemp("cache")))
    eng = SamEngine(save_tiny_checkpoint(tmp_path_factory.mktemp("sam") / "tiny.pth"))
    run_to_end(eng.set_image(generate("tint", shape=(200, 500), seed=1).image))
    yield eng
    mp.undo()


def _cols(mask):
    cols = np.flatnonzero(mask.any(0))
    return int(cols.min()), int(cols.max())


def test_click_mask_goes_on_in_the_tiles_that_agree(engine, monkeypatch):
    left, centre, right = engine.tiles  # 256 px tiles across a 500 px image
    monkeypatch.setattr(sam_continue, "MIN_AGREEMENT", 1.1)  # no neighbour ever agrees
    alone, _ = engine.predict(*CLICK)
    # the tiny model's mask fills the click's tile from edge to edge: cut on both sides
    assert _cols(alone[0]) == (centre.x0, centre.x0 + centre.w - 1)
    assert engine.cut_at_tile_edge(alone[0], *CLICK)
    monkeypatch.setattr(sam_continue, "MIN_AGREEMENT", 0.0)  # every neighbour agrees
    masks, scores = engine.predict(*CLICK)
    assert np.all(np.diff(scores) <= 0)
    lo, hi = _cols(masks[0])
    assert lo < centre.x0 and hi >= centre.x0 + centre.w  # decoded in both neighbours
    assert not engine.cut_at_tile_edge(masks[0], *CLICK)
    # inside the click's own share of the image the mask is the click tile's own
    own = slice((left.x0 + left.w + centre.x0) // 2, (centre.x0 + centre.w + right.x0) // 2)
    assert np.array_equal(masks[0][:, own], alone[0][:, own])
    # another click (no stored tiles for it) is judged on its own tile again
    other = (np.array([[100.0, 260.0]]), np.array([1]))
    assert engine.cut_at_tile_edge(alone[0], *other)


def test_default_agreement_follows_only_a_matching_neighbour(engine):
    masks, _ = engine.predict(*CLICK)
    centre = engine.tiles[1]
    lo, hi = _cols(masks[0])
    # with this tiny model the left tile agrees with the click's mask and the right one does not
    assert lo < centre.x0 and hi == centre.x0 + centre.w - 1
    assert engine.cut_at_tile_edge(masks[0], *CLICK)  # still cut on the right: told


def test_continuation_is_bounded_and_keeps_negative_clicks(engine, monkeypatch):
    monkeypatch.setattr(sam_continue, "MAX_TILES", 1)
    masks, _ = engine.predict(*CLICK)
    centre = engine.tiles[1]
    assert _cols(masks[0]) == (centre.x0, centre.x0 + centre.w - 1)
    # a negative click in the left tile goes with the seed into that tile's prompts
    seen = []
    real = engine._decode
    monkeypatch.setattr(sam_continue, "MAX_TILES", 9)
    monkeypatch.setattr(sam_continue, "MIN_AGREEMENT", 0.0)
    monkeypatch.setattr(engine, "_decode", lambda i, pr: (seen.append((i, pr)), real(i, pr))[1])
    pts = np.array([[100.0, 250.0], [50.0, 20.0]])
    engine.predict(pts, np.array([1, 0]))
    left = [pr for i, pr in seen if i == 0]
    assert left and all(pr.labels[-1] == 0 for pr in left)
    assert all(np.allclose(pr.points[-1], [50.0, 20.0]) for pr in left)


def test_continuation_stays_in_the_block_around_the_click(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sam_continue, "MIN_AGREEMENT", 0.0)  # every neighbour agrees
    eng = SamEngine(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    run_to_end(eng.set_image(generate("tint", shape=(200, 1400), seed=1).image))
    assert len(eng.tiles) >= 6  # one row of tiles
    click = (np.array([[100.0, 700.0]]), np.array([1]))
    masks, _ = eng.predict(*click)
    centre = eng._pick_tile(check_prompts(*click, None, eng.image_shape))
    left, right = eng.tiles[centre - 1], eng.tiles[centre + 1]
    lo, hi = _cols(masks[0])
    assert lo >= left.x0 and hi < right.x0 + right.w  # no further than the next tile each way
    assert eng.cut_at_tile_edge(masks[0], *click)  # and told where it goes on
