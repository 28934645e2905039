"""Segment Anything engine: loading, embedding cache, tiles, fast click path (tiny model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _refine_tiny_sam import save_tiny_checkpoint, tiny_sam

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import PromptError, SamLoadError, load_sam, make_engine
from napari_microstructure.core.refine.sam_cache import embeddings_dir
from napari_microstructure.core.refine.sam_engine import SamEngine, plan_tiles


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("sam") / "tiny.pth")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _image(shape=(256, 256), seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((*shape, 3), 60, np.uint8)
    img[40:140, 50:170] = (200, 180, 90)
    return np.clip(img + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)


def test_fast_path_matches_sam_predictor(checkpoint, cache):
    from segment_anything import SamPredictor

    eng = SamEngine(checkpoint)
    img = _image()
    run_to_end(eng.set_image(img))
    pred = SamPredictor(eng.sam)
    pred.set_image(img)
    for pts, lab, box in [
        (np.array([[90.0, 100.0]]), np.array([1]), None),
        (np.array([[90.0, 100.0], [200.0, 30.0]]), np.array([1, 0]), None),
        (None, None, np.array([40.0, 30.0, 180.0, 150.0])),
    ]:
        masks, scores = eng.predict(pts, lab, box)
        ref, ref_scores, _ = pred.predict(
            None if pts is None else pts[:, ::-1], lab, box=box, multimask_output=True
        )
        order = np.argsort(-ref_scores)
        assert masks.shape == (3, 256, 256) and masks.dtype == bool
        np.testing.assert_allclose(scores, ref_scores[order], atol=1e-4)
        assert (scores[:-1] >= scores[1:]).all()  # best first
        for k in range(3):
            a, b = masks[k], ref[order[k]]
            assert (a & b).sum() / max((a | b).sum(), 1) > 0.995


def test_embedding_cached_and_never_stale(checkpoint, cache):
    img = _image()
    first = SamEngine(checkpoint)
    run_to_end(first.set_image(img))
    assert not first.from_cache and len(list(embeddings_dir().glob("*.pt"))) == 1
    again = SamEngine(checkpoint)
    run_to_end(again.set_image(img))
    assert again.from_cache
    torch.testing.assert_close(again.embeddings, first.embeddings)
    changed = img.copy()
    changed[0, 0, 0] ^= 1  # one bit of one pixel
    run_to_end(again.set_image(changed))
    assert not again.from_cache
    assert len(list(embeddings_dir().glob("*.pt"))) == 2


def test_cancel_half_way_leaves_no_cache_entry(checkpoint, cache):
    eng = SamEngine(checkpoint)
    gen = eng.set_image(_image((200, 400)))  # 2 tiles
    next(gen)
    next(gen)
    gen.close()  # what a worker's quit does at the next yield
    assert list(embeddings_dir().iterdir()) == []
    with pytest.raises(PromptError, match="no image set"):
        eng.predict(np.array([[10.0, 10.0]]), np.array([1]))


def test_montage_refused_before_embedding(checkpoint, cache, monkeypatch):
    from napari_microstructure.core import image_utils

    eng = SamEngine(checkpoint)
    run_to_end(eng.set_image(_image((200, 400))))  # 2 tiles fit
    held = eng.embeddings.numel() + sum(
        getattr(p, f).numel() for p in eng._prepared for f in ("keys", "k1", "v1", "q1")
    )
    # the estimate: what stays held plus the encoder output's copy while stacking
    assert eng.decoder.tile_bytes() == 4 * (held // 2 + eng.embeddings[0].numel())
    monkeypatch.setattr(image_utils, "memory_budget", lambda: eng.decoder.tile_bytes())
    with pytest.raises(ValueError, match="too large to segment at once"):
        run_to_end(eng.set_image(_image((200, 400))))
    assert len(list(embeddings_dir().glob("*.pt"))) == 1  # only the first image's
    with pytest.raises(PromptError, match="no image set"):  # no half-set image is used
        eng.predict(np.array([[10.0, 10.0]]), np.array([1]))


def test_cache_keeps_the_most_recently_used_under_its_limit(checkpoint, cache):
    from napari_microstructure.core.settings import set_setting

    eng = SamEngine(checkpoint)
    a, b, c = (_image(seed=s) for s in (1, 2, 3))
    run_to_end(eng.set_image(a))
    size = next(embeddings_dir().glob("*.pt")).stat().st_size
    set_setting("sam_cache_limit_gib", 2.5 * size / 2**30)  # room for two entries
    run_to_end(eng.set_image(b))
    run_to_end(eng.set_image(a))  # reopened: a is now more recent than b
    assert eng.from_cache
    run_to_end(eng.set_image(c))
    assert len(list(embeddings_dir().glob("*.pt"))) == 2
    run_to_end(eng.set_image(a))
    assert eng.from_cache  # kept
    run_to_end(eng.set_image(b))
    assert not eng.from_cache  # the least recently used was removed
    set_setting("sam_cache_limit_gib", 0)
    run_to_end(eng.set_image(c))
    assert len(list(embeddings_dir().glob("*.pt"))) == 1  # the entry just written stays


def test_large_image_uses_overlapping_tiles(checkpoint, cache):
    tiles = plan_tiles((300, 520), 256, 64)
    assert len(tiles) == 2 * 3
    ends = sorted({t.x0 + t.w for t in tiles})
    assert ends[-1] == 520 and all(t.w == 256 for t in tiles)
    eng = SamEngine(checkpoint)
    run_to_end(eng.set_image(_image((200, 400))))
    assert eng.embeddings.shape[0] == 2
    masks, scores = eng.predict(np.array([[180.0, 390.0]]), np.array([1]))
    assert masks.shape == (3, 200, 400) and scores.shape == (3,)
    assert masks[0].any()


def test_bad_checkpoints_give_clear_errors(tmp_path, checkpoint):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(SamLoadError, match="not a readable PyTorch checkpoint"):
        load_sam(bad)
    with pytest.raises(SamLoadError, match="not found"):
        load_sam(tmp_path / "missing.pth")
    other = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(SamLoadError, match="not a Segment Anything checkpoint"):
        load_sam(other)
    with pytest.raises(SamLoadError, match="unknown model type"):
        load_sam(checkpoint, "vit_x")
    with pytest.raises(SamLoadError, match="needs a checkpoint"):
        make_engine("sam")
    sam, kind = load_sam(checkpoint)
    assert kind == "custom" and sam.image_encoder.img_size == 256
    # a config checkpoint is not taken for the type the user chose explicitly
    with pytest.raises(SamLoadError, match=r"holds a custom model \(encoder width 32, depth 2\)"):
        load_sam(checkpoint, "vit_l")


def test_prompt_outside_image_is_refused(checkpoint, cache):
    eng = SamEngine(checkpoint)
    run_to_end(eng.set_image(_image()))
    with pytest.raises(PromptError, match="outside the image"):
        eng.predict(np.array([[300.0, 10.0]]), np.array([1]))
    with pytest.raises(PromptError, match="lies outside"):
        eng.predict(None, None, np.array([400.0, 400.0, 500.0, 500.0]))


@pytest.mark.slow
def test_full_size_vit_b_state_dict_loads(tmp_path):
    from segment_anything import sam_model_registry

    torch.manual_seed(0)
    path = tmp_path / "sam_vit_b.pth"
    torch.save(sam_model_registry["vit_b"](checkpoint=None).state_dict(), path)
    sam, kind = load_sam(path, "vit_b")
    assert kind == "vit_b" and sam.image_encoder.img_size == 1024
    with pytest.raises(SamLoadError, match="holds a vit_b model, not vit_l"):
        load_sam(path, "vit_l")
    del sam


def test_tiny_builder_is_deterministic():
    a, b = tiny_sam(1).state_dict(), tiny_sam(1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_segment_all_with_sam_and_mask_assembly(checkpoint):
    from napari_microstructure.core.grains import segment_all_grains
    from napari_microstructure.core.grains.segment_all import labels_from_masks

    labels = run_to_end(
        segment_all_grains(
            _image(),
            engine="sam",
            checkpoint=checkpoint,
            points_per_side=4,
            pred_iou_thresh=0.0,
            stability_score_thresh=0.0,
        )
    )
    assert labels.shape == (256, 256) and labels.dtype == np.uint32 and labels.min() >= 1
    a = np.zeros((40, 40), bool)
    a[:, :25] = True
    b = np.zeros((40, 40), bool)
    b[:, 15:] = True
    lab = labels_from_masks([a, b], [0.9, 0.5], (40, 40), min_area=5)
    assert lab.max() == 2 and lab[0, 0] != lab[0, 39]
    assert (lab == lab[0, 0]).sum() == 25 * 40  # the better mask wins the overlap
    with pytest.raises(ValueError, match="needs a checkpoint"):
        run_to_end(segment_all_grains(_image(), engine="sam"))
