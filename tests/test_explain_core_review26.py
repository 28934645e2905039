"""Review 26 of Explain: the tile a box is explained in, the intensity scaling Detect uses,
plain numbers in errors, and the scale note in ``explain --json``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

import napari_microstructure  # noqa: F401  (offline ultralytics settings)
from napari_microstructure.core.detect.infer import _intensity_range, _to_u8
from napari_microstructure.core.explain import explain_model, object_saliency
from napari_microstructure.core.explain.saliency import _check_image
from napari_microstructure.core.progress import run_to_end

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def random_model():
    """A random detector with input 160 px, 'trained' at 0.5 µm/px."""
    from test_explain_core import tiny_detection_model

    em = explain_model(tiny_detection_model())
    em.imgsz, em.pixel_size, em.names = 160, 0.5, {0: "a", 1: "b", 2: "c"}
    return em


def test_a_box_is_explained_in_the_tile_whose_prediction_detection_kept():
    """Where detection tiles overlap, detection may keep the box of a tile that holds it near
    an edge: on this 640 px image at 0.35 µm/px a pore of confidence 0.48 was explained in the
    tile holding it farthest from its edges, with score 0.41. Given the box's confidence, the
    tile whose matching prediction scores that is explained."""
    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.explain.tiles import detection_tiles, object_tile
    from napari_microstructure.core.synthetic import generate

    detector = load_detector(None)
    image = generate("defects", shape=(640, 640), pixel_size=0.35, seed=3).image
    df = run_to_end(detect(image, detector, 0.35))
    factor = 0.35 / detector.pixel_size
    moved = 0
    for r in df.itertuples():
        box = (r.x1, r.y1, r.x2, r.y2)
        if len(detection_tiles(box, image.shape, detector.imgsz, factor)) < 2:
            continue  # one tile (or none: fragments joined) holds it: nothing to choose
        res = run_to_end(
            object_saliency(image, detector, box, int(r.class_id), 0.35, confidence=r.confidence)
        )
        assert res.score == pytest.approx(r.confidence, abs=0.02), (r.class_name, box)
        far = object_tile(box, image.shape, detector.imgsz, factor)
        if res.window != (far.x0, far.y0, far.x1, far.y1):
            moved += 1
            old = run_to_end(object_saliency(image, detector, box, int(r.class_id), 0.35))
            assert old.window == (far.x0, far.y0, far.x1, far.y1)  # no confidence: as before
    assert moved >= 1


def test_without_a_usable_confidence_the_tile_farthest_from_the_edges(random_model):
    from napari_microstructure.core.explain.tiles import object_tile

    rng = np.random.default_rng(0)
    image = rng.integers(90, 170, (300, 300)).astype(np.uint8)
    box = (130.0, 130.0, 150.0, 150.0)  # in the overlap of several 160 px tiles
    far = object_tile(box, image.shape, 160, 1.0)
    for conf in (None, float("nan")):
        res = run_to_end(
            object_saliency(image, random_model, box, 0, 0.5, use_cache=False, confidence=conf)
        )
        assert res.window == (far.x0, far.y0, far.x1, far.y1)


def test_explain_feeds_the_network_the_pixels_detection_feeds_it():
    """A 12-bit 2048 px image with one hot pixel: detection's range comes from a strided
    sample that misses it, Explain's came from every pixel (its input went nearly black)."""
    rng = np.random.default_rng(0)
    img = rng.integers(1000, 4096, (2048, 2048)).astype(np.uint16)
    img[1, 1] = 65535
    explained = _check_image(img)
    assert np.array_equal(explained, _to_u8(img, _intensity_range(img)))
    assert explained.mean() > 100  # stretched over 1000..4095, not 0..65535
    # a float image with missing pixels: NaN is mid grey for both, never a dark pore
    f = rng.random((64, 64)).astype(np.float32) * 1000.0
    f[10:20, 10:20] = np.nan
    explained = _check_image(f)
    assert np.array_equal(explained, _to_u8(f, _intensity_range(f)))
    assert 120 <= int(explained[15, 15]) <= 136
    # RGBA: alpha dropped, as detection does
    rgba = rng.integers(0, 255, (32, 32, 4)).astype(np.uint8)
    assert np.array_equal(_check_image(rgba), rgba[..., :3])


def test_a_box_outside_the_image_is_named_in_plain_numbers(random_model):
    image = np.full((256, 256), 128, np.uint8)
    box = tuple(np.float64(v) for v in (300.0, 300.0, 330.0, 330.5))
    with pytest.raises(ValueError) as err:
        run_to_end(object_saliency(image, random_model, box, 0))
    assert "the box (300, 300, 330, 330.5) lies outside the image (256 x 256 px)" in str(err.value)
    assert "np." not in str(err.value)
    with pytest.raises(ValueError, match=r"empty box \(5, 5, 5, 9\)$"):
        run_to_end(object_saliency(image, random_model, tuple(map(np.float64, (5, 5, 5, 9))), 0))


def test_explain_json_notes_an_image_used_without_pixel_size(tmp_path, capsys):
    from napari_microstructure.cli import main

    rng = np.random.default_rng(1)
    tifffile.imwrite(tmp_path / "rgb.tif", rng.integers(0, 255, (96, 128, 3)).astype(np.uint8))
    args = ["explain", str(tmp_path / "rgb.tif"), "--out", str(tmp_path / "o.tif"), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "no pixel size" in summary["note"] and "--pixel-size" in summary["note"]
    assert "warning" not in summary  # warnings keep their own key
    assert main([*args, "--pixel-size", "0.5"]) == 0
    assert json.loads(capsys.readouterr().out)["note"] == ""
