"""Explain core without a trained model: geometry, alignment, caching, confidence and quality."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import napari_microstructure  # noqa: F401  (offline ultralytics settings)
from napari_microstructure.core.explain import (
    box_styles,
    class_score_maps,
    confidence_histogram,
    explain_model,
    low_confidence_map,
    near_threshold,
    object_saliency,
    quality_colors,
    quality_map,
    saliency_map,
)
from napari_microstructure.core.explain.cache import CACHE, ResultCache, result_key
from napari_microstructure.core.explain.confidence import ScoreMaps
from napari_microstructure.core.explain.tiles import image_tiles, object_tile
from napari_microstructure.core.progress import Progress, run_to_end


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two threads spin and run ~20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_detection_model(nc: int = 3, seed: int = 0) -> torch.nn.Module:
    """YOLOv8 layout at an eighth of YOLOv8n's width, random weights."""
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load

    cfg = yaml_model_load("yolov8n.yaml")
    cfg["scale"], cfg["scales"] = "n", {"n": [0.33, 0.125, 1024]}
    torch.manual_seed(seed)
    return DetectionModel(cfg, nc=nc, verbose=False)


@pytest.fixture(scope="module")
def random_model():
    """A random detector with input 160 px, 'trained' at 0.5 µm/px."""
    em = explain_model(tiny_detection_model())
    em.imgsz, em.pixel_size, em.names = 160, 0.5, {0: "a", 1: "b", 2: "c"}
    return em


def _image(size: int = 150, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(90, 170, (size, size)).astype(np.uint8), (0, 0), 2)
    cv2.circle(img, (50, 60), 9, 20, -1)
    cv2.rectangle(img, (100, 30), (112, 90), 230, -1)
    return img


def test_tiles_cover_image_and_scale_boxes():
    tiles = image_tiles((500, 300), imgsz=160, factor=2.0, overlap=0.2)
    covered = np.zeros((500, 300), bool)
    for t in tiles:
        assert t.window.shape[0] <= 80 and t.window.shape[1] <= 80
        assert t.model_shape == (2 * t.window.shape[0], 2 * t.window.shape[1])
        covered[t.y0 : t.y1, t.x0 : t.x1] = True
    assert covered.all()
    t = object_tile((280, 10, 300, 30), (500, 300), imgsz=160, factor=2.0)
    assert (t.x1, t.y0) == (300, 0)  # clipped to the image corner
    assert t.to_model((280, 10, 300, 30)) == pytest.approx(
        (2 * (280 - t.x0), 20, 2 * (300 - t.x0), 60)
    )


@pytest.mark.parametrize("method", ["eigencam", "gradcam"])
def test_map_is_float01_at_image_size_and_follows_rescaling(random_model, method):
    img = _image()
    steps: list[Progress] = []
    small = run_to_end(
        saliency_map(img, random_model, method, pixel_size=1.0, use_cache=False), steps.append
    )
    assert small.shape == img.shape and small.dtype == np.float32
    assert small.min() == 0.0 and small.max() <= 1.0
    assert steps and steps[-1].step == steps[-1].total
    if small.max() == 0:  # a random net's Grad-CAM can be negative everywhere (ReLU -> flat)
        assert method != "eigencam"
        return
    # the same specimen imaged at twice the magnification: the network sees the same pixels,
    # so the map brought back to the first image's grid must match it (rescaled inference)
    big = cv2.resize(img, (300, 300), interpolation=cv2.INTER_LINEAR)
    fine = run_to_end(saliency_map(big, random_model, method, pixel_size=0.5, use_cache=False))
    assert fine.shape == big.shape
    back = cv2.resize(fine, img.shape[::-1], interpolation=cv2.INTER_AREA)
    assert np.corrcoef(back.ravel(), small.ravel())[0, 1] > 0.95
    # a tiled run (image several times the model input) keeps the size and blends seamlessly
    assert len(image_tiles(big.shape, 160, 1.0)) > 1


def test_object_map_is_zero_outside_its_tile(random_model):
    img = np.tile(_image(), (3, 3))  # 450 px, model input 160 px: a tile around the object
    res = run_to_end(
        object_saliency(
            img, random_model, (200, 200, 230, 240), 1, method="layercam", use_cache=False
        )
    )
    x0, y0, x1, y1 = res.window
    assert (x1 - x0, y1 - y0) == (160, 160) and x0 <= 200 and x1 >= 230
    outside = res.saliency.copy()
    outside[y0:y1, x0:x1] = 0
    assert outside.max() == 0 and res.saliency.max() == pytest.approx(1.0)
    assert np.isfinite(res.score)


def test_bad_inputs_give_clear_messages(random_model):
    with pytest.raises(ValueError, match="unknown method"):
        run_to_end(saliency_map(_image(), random_model, "magic"))
    with pytest.raises(ValueError, match="2-D grey or RGB"):
        run_to_end(saliency_map(np.zeros((4, 30, 30)), random_model))
    with pytest.raises(ValueError, match="class id 7"):
        run_to_end(object_saliency(_image(), random_model, (1, 1, 9, 9), 7))
    with pytest.raises(ValueError, match="empty box"):
        run_to_end(object_saliency(_image(), random_model, (5, 5, 5, 9), 0))
    for box in ((400, 400, 450, 450), (-60, -60, -10, -10)):  # wholly outside the image
        with pytest.raises(ValueError, match="lies outside the image"):
            run_to_end(object_saliency(_image(), random_model, box, 0))


def test_cache_hits_memory_and_disk(random_model, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path))
    CACHE.clear()
    img = _image(seed=3)
    first = run_to_end(saliency_map(img, random_model, "eigencam", pixel_size=0.5))
    assert list((tmp_path / "explain").glob("*.npy"))
    msgs: list[str] = []
    again = run_to_end(
        saliency_map(img, random_model, "eigencam", pixel_size=0.5),
        lambda p: msgs.append(p.message),
    )
    assert msgs == ["saliency from cache"] and np.array_equal(first, again)
    CACHE.clear()  # memory gone: read back from disk
    msgs.clear()
    run_to_end(
        saliency_map(img, random_model, "eigencam", pixel_size=0.5),
        lambda p: msgs.append(p.message),
    )
    assert msgs == ["saliency from cache"]
    other = img.copy()
    other[0, 0] ^= 1  # one pixel differs: another key
    assert result_key(other, "m", a=1) != result_key(img, "m", a=1)
    assert result_key(img, "m", a=1) != result_key(img, "m2", a=1)
    lru = ResultCache(maxsize=2, disk=False)
    for k in "abc":
        lru.put(k, np.zeros(1))
    assert lru.get("a") is None and lru.get("c") is not None


def test_the_cache_key_follows_the_model_pixel_size(tmp_path):
    from types import SimpleNamespace

    from napari_microstructure.core.detect import sidecar_path
    from napari_microstructure.core.detect.model import load_detector

    net = tiny_detection_model()
    keys = {
        ps: explain_model(SimpleNamespace(torch_model=net, pixel_size=ps)).key
        for ps in (0.5, 0.125)
    }
    assert keys[0.5] != keys[0.125]  # a fixed pixel size must not return the old maps
    pt = tmp_path / "m.pt"
    from ultralytics import YOLO

    YOLO("yolov8n.yaml").save(str(pt))
    sidecar_path(pt).write_text('{"pixel_size_um": 0.5}')
    before = explain_model(load_detector(pt)).key
    sidecar_path(pt).write_text('{"pixel_size_um": 0.125}')  # the .pt file is unchanged
    assert explain_model(load_detector(pt)).key != before


def test_score_maps_and_low_confidence(random_model):
    img = _image(seed=1)
    maps = run_to_end(class_score_maps(img, random_model, use_cache=False))
    assert maps.best.shape == img.shape and np.all(maps.second <= maps.best + 1e-6)
    # four separate candidates on a background of 0
    best = np.zeros((5, 20), np.float32)
    second = np.zeros_like(best)
    best[2, 2], best[2, 7], best[2, 12], best[2, 17] = 0.25, 0.5, 0.9, 0.05
    second[2, 7], second[2, 12] = 0.45, 0.05
    low = low_confidence_map(ScoreMaps(best, second), threshold=0.25)
    assert low[0, 0] == 0.0 and low[2, 17] == 0.0  # nothing there
    assert low[2, 2] == 1.0  # exactly at the threshold
    assert low[2, 7] == pytest.approx(0.9)  # two classes almost equally likely
    assert low[2, 12] < 0.1  # confident
    # the fringe of a confident object (scores falling through the threshold) is not "unsure"
    obj = np.zeros((40, 40), np.float32)
    obj[13:27, 13:27] = 0.25
    obj[15:25, 15:25] = 0.95
    fringe = low_confidence_map(ScoreMaps(obj, np.zeros_like(obj)), 0.25)
    assert fringe.max() < 0.1


def test_box_styles_histogram_and_flags():
    conf = np.array([0.26, 0.5, 0.99])
    style = box_styles(conf, threshold=0.25)
    assert style.edge_color.shape == (3, 4)
    assert np.all(np.diff(style.opacity) > 0) and np.allclose(
        style.edge_color[:, 3], style.opacity
    )
    assert style.near_threshold.tolist() == [True, False, False]
    assert near_threshold(conf, 0.25).tolist() == [True, False, False]
    counts, edges = confidence_histogram(conf, bins=10)
    assert counts.sum() == 3 and edges[0] == 0 and edges[-1] == 1 and counts[9] == 1


def test_quality_colours_and_map():
    labels = np.array([[0, 1, 1], [2, 2, 3]], np.uint32)
    colors = quality_colors(np.array([1, 2, 3]), np.array([0.1, 0.9, np.nan]))
    assert set(colors) == {1, 2, 3}
    # poor dark, good light: told apart by lightness, as colour-blind eyes see (not red/green)
    luminance = np.array([0.2126, 0.7152, 0.0722])
    assert float(colors[2][:3] @ luminance) - float(colors[1][:3] @ luminance) > 0.4
    assert np.allclose(colors[3][:3], 0.6)  # unknown: grey
    qmap = quality_map(labels, np.array([1, 2, 3]), np.array([0.1, 0.9, 0.5]))
    assert np.isnan(qmap[0, 0]) and qmap[0, 1] == pytest.approx(0.1) and qmap[1, 2] == 0.5
    with pytest.raises(ValueError, match="labels but"):
        quality_colors(np.array([1, 2]), np.array([0.5]))


def test_disk_cache_keeps_the_most_recently_used_under_its_limit(tmp_path, monkeypatch):
    """Every explained image added a file of H x W x 4 bytes, never removed (64 MiB for a
    4096 x 4096 map)."""
    from napari_microstructure.core.settings import set_setting

    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CONFIG", str(tmp_path / "config"))
    cache = ResultCache(maxsize=1)
    value = np.zeros((64, 64), np.float32)
    cache.put("a", value)
    size = next((tmp_path / "cache" / "explain").glob("*.npy")).stat().st_size
    set_setting("explain_cache_limit_gib", 2.5 * size / 2**30)  # room for two maps
    cache.put("b", value)
    cache.put("c", value)  # memory holds c only: a and b come from disk
    assert cache.get("b") is not None  # read back from disk: b is now more recent than c
    cache.put("d", value)
    names = sorted(p.stem for p in (tmp_path / "cache" / "explain").glob("*.npy"))
    assert names == ["b", "d"]  # a, the least recently used, went first; then c
    set_setting("explain_cache_limit_gib", 0)
    cache.put("e", value)
    assert [p.stem for p in (tmp_path / "cache" / "explain").glob("*.npy")] == ["e"]


def test_an_object_is_explained_in_the_tile_that_detected_it():
    """A tile centred on the object ran another prediction: on a 512 x 512 image (4 detection
    tiles) 4 of 17 boxes were explained with scores 0.1-0.15 off their confidence."""
    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.explain import object_saliency
    from napari_microstructure.core.synthetic import generate

    detector = load_detector(None)
    image = generate("defects", shape=(512, 512), pixel_size=0.5, seed=90001).image
    df = run_to_end(detect(image, detector, 0.5, conf=0.25))
    assert df.attrs["n_tiles"] > 1
    for r in df.nlargest(4, "confidence").itertuples():
        box = (r.x1, r.y1, r.x2, r.y2)
        res = run_to_end(object_saliency(image, detector, box, int(r.class_id), 0.5))
        assert res.score == pytest.approx(r.confidence, abs=0.02), r.class_name
