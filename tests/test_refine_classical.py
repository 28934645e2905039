"""Built-in engine and segment-all on synthetic micrographs with known grains."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_microstructure.core.grains import boundaries_from_labels, segment_all_grains
from napari_microstructure.core.progress import Progress, run_to_end
from napari_microstructure.core.refine import ClassicalEngine, PromptError, make_engine
from napari_microstructure.core.refine.accuracy import corrected_click_ious, grain_centres
from napari_microstructure.core.synthetic import generate


def _centres(truth: np.ndarray, n: int = 40) -> list[tuple[int, int, int]]:
    """(id, row, col) of the innermost pixel of the ``n`` grains nearest the image centre."""
    out = grain_centres(truth)
    h, w = truth.shape
    out.sort(key=lambda t: (t[1] - h / 2) ** 2 + (t[2] - w / 2) ** 2)
    return out[:n]


@pytest.fixture(scope="module")
def etched():
    m = generate("etched", shape=(384, 384), seed=1, grain_size_um=15)
    eng = ClassicalEngine()
    run_to_end(eng.set_image(m.image, m.pixel_size))
    return m, eng


def test_one_click_per_grain_gives_its_outline(etched):
    m, eng = etched
    ious = []
    for i, r, c in _centres(m.grains):
        masks, scores = eng.predict(np.array([[r, c]]), np.array([1]))
        assert masks.dtype == bool and masks.shape[1:] == m.grains.shape
        assert len(masks) == len(scores) and 0 <= scores.min() and scores.max() <= 1
        t = m.grains == i
        ious.append((t & masks[0]).sum() / (t | masks[0]).sum())
    assert np.mean(ious) >= 0.85, np.mean(ious)
    assert np.median(ious) >= 0.9


@pytest.mark.parametrize("name", ["classical", "learned"])
def test_next_mask_is_not_the_same_grain_again(etched, name):
    # the watershed pieces offered as the next mask lie inside the grains, although the
    # grains' borders were re-drawn after merging (crests, border placement): before, 67 of 79
    # clicks on an etched image were offered their own grain again, a pixel off here and there
    m = etched[0]
    eng = etched[1] if name == "classical" else make_engine("learned")
    if eng.seg is None:
        run_to_end(eng.set_image(m.image, m.pixel_size))
    lab, fine = eng.seg.labels, eng.seg.fine
    pairs = np.unique(fine.astype(np.int64) * (int(lab.max()) + 1) + lab)
    assert len(pairs) == len(np.unique(fine))  # every piece inside one grain
    near = 0
    for _, r, c in _centres(m.grains):
        masks, _ = eng.predict(np.array([[r, c]]), np.array([1]))
        near += any((masks[0] ^ m2).sum() < 0.05 * masks[0].sum() for m2 in masks[1:])
    assert near <= 2, near


def test_segment_all_counts_grains(etched):
    m, eng = etched
    n_true = int(m.grains.max())
    assert abs(int(eng.labels.max()) - n_true) <= 0.1 * n_true
    gen = segment_all_grains(m.image, m.pixel_size)
    steps = []
    labels = run_to_end(gen, steps.append)
    assert labels.dtype == np.uint32 and labels.min() >= 1
    assert np.array_equal(labels, eng.labels)
    assert steps and all(isinstance(s, Progress) for s in steps)


def test_gap_in_a_boundary_does_not_merge_two_grains():
    img = np.full((120, 200), 200, np.uint8)
    img[:, 98:102] = 60  # boundary line
    img[55:63, 98:102] = 200  # an 8 px gap
    labels = run_to_end(segment_all_grains(img))
    assert labels.max() == 2
    assert labels[60, 20] != labels[60, 180]


def test_negative_click_cuts_a_leak():
    img = np.full((120, 200), 200, np.uint8)
    img[:, 98:102] = 60
    img[55:65, 98:102] = 190  # faint stretch: the two grains are merged
    eng = ClassicalEngine(merge_ratio=0.95)
    run_to_end(eng.set_image(img))
    masks, _ = eng.predict(np.array([[60, 40]]), np.array([1]))
    if masks[0][60, 160]:  # merged; the negative click must split them
        masks, _ = eng.predict(np.array([[60, 40], [60, 160]]), np.array([1, 0]))
    assert masks[0][60, 40] and not masks[0][60, 160]
    assert masks[0][:, :90].mean() > 0.95


def test_negative_click_splits_unequal_grains_near_their_border():
    # grain A (columns 0-158) and a narrower grain B; their line is missing in rows 20-100, so
    # they are one region. Seeded with single pixels the floods met half way between the two
    # clicks (column 129, A kept 82 %); seeded with discs they meet near the border.
    img = np.full((120, 200), 200, np.uint8)
    img[:20, 158:162] = 60
    img[100:, 158:162] = 60
    eng = ClassicalEngine(merge_ratio=0.95)
    run_to_end(eng.set_image(img))
    assert eng.predict(np.array([[60, 79]]), np.array([1]))[0][0][60, 180]  # merged
    mask = eng.predict(np.array([[60, 79], [60, 180]]), np.array([1, 0]))[0][0]
    a = np.zeros(img.shape, bool)
    a[:, :159] = True
    assert (mask & a).sum() / a.sum() > 0.93 and (mask & ~a).sum() / (~a).sum() < 0.02
    truth = np.where(a, 1, 2)
    before, after = corrected_click_ious(eng, truth)
    assert before[0] < 0.8 < 0.93 < after[0]  # the benchmark's corrective click on grain A
    # a grain the engine splits in two (a full line across it): the click joins the other half
    line = np.full((120, 200), 200, np.uint8)
    line[:, 98:102] = 60
    run_to_end(eng.set_image(line))
    before, after = corrected_click_ious(eng, np.ones(line.shape, np.int32))
    assert before[0] < 0.6 and after[0] > 0.95


def test_box_prompt_segments_a_particle():
    m = generate("precipitates", shape=(256, 256), seed=3)
    eng = make_engine("classical")
    run_to_end(eng.set_image(m.image))
    ious = []
    for obj in m.objects[:15]:
        x1, y1, x2, y2 = obj["bbox"]
        if (x2 - x1) * (y2 - y1) < 30:
            continue
        box = np.array([x1 - 2, y1 - 2, x2 + 2, y2 + 2], float)
        masks, _ = eng.predict(None, None, box)
        t = m.defects == obj["id"]
        ious.append((t & masks[0]).sum() / (t | masks[0]).sum())
    assert ious and np.mean(ious) >= 0.75, ious


def test_bad_prompts_are_refused(etched):
    _, eng = etched
    with pytest.raises(PromptError, match="outside the image"):
        eng.predict(np.array([[10, 500]]), np.array([1]))
    with pytest.raises(PromptError, match="at least one positive"):
        eng.predict(np.array([[10, 10]]), np.array([0]))
    with pytest.raises(PromptError, match="no image set"):
        ClassicalEngine().predict(np.array([[1, 1]]), np.array([1]))
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("magic")
    with pytest.raises(ValueError, match="grey"):
        run_to_end(ClassicalEngine().set_image(np.zeros((4, 20, 20, 5))))


def test_boundaries_from_labels():
    lab = np.ones((4, 6), np.uint32)
    lab[:, 3:] = 2
    b = boundaries_from_labels(lab)
    assert b[:, 2].all() and b.sum() == 4


def test_grains_cli(tmp_path, capsys):
    from skimage.io import imread, imsave

    from napari_microstructure.cli import main

    m = generate("etched", shape=(256, 256), seed=2, grain_size_um=12)
    path = tmp_path / "e.png"
    imsave(path, m.image)
    png, tif = tmp_path / "b.png", tmp_path / "l.tif"
    rc = main(
        [
            "grains",
            str(path),
            "--pixel-size",
            "0.5",
            "--json",
            "--boundaries-out",
            str(png),
            "--labels-out",
            str(tif),
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("grain_count", "mean_intercept", "astm_g_intercept", "astm_g_planimetric", "unit"):
        assert key in out
    assert out["unit"] == "µm" and abs(out["astm_g_intercept"] - m.truth["astm_g"]) < 0.4
    b = imread(png)
    assert b.shape == m.image.shape and b.dtype == np.uint8 and set(np.unique(b)) <= {0, 255}
    import tifffile

    lab = tifffile.imread(tif)
    assert lab.dtype == np.uint32 and lab.max() == out["grain_count"]
    assert main(["grains", str(tmp_path / "missing.png")]) == 2
    assert main(["grains", str(path), "--pixel-size", "-1"]) == 2
    assert main(["grains", str(path), "--sam-checkpoint", str(png)]) == 2


def test_a_grey_micrograph_saved_as_colour_is_segmented_as_grey(etched):
    from napari_microstructure.core.refine.learned_boundary import segment_grains

    grey = etched[0].image
    want = run_to_end(segment_grains(grey, "filters")).labels
    for colour in (np.dstack([grey] * 3), np.dstack([grey] * 3 + [np.full_like(grey, 255)])):
        got = run_to_end(segment_grains(colour, "filters")).labels
        np.testing.assert_array_equal(got, want)


def test_a_positive_and_a_negative_click_on_one_pixel_are_refused(etched):
    _, eng = etched
    with pytest.raises(PromptError, match="same pixel"):
        eng.predict(np.array([[40.2, 50.0], [40.0, 49.6]]), np.array([1, 0]))


@pytest.mark.parametrize("command", ["grains", "explain"])
def test_an_infinite_pixel_size_is_refused_at_once(tmp_path, capsys, command):
    from napari_microstructure.cli import main

    args = [command, str(tmp_path / "x.png"), "--pixel-size", "inf"]
    if command == "explain":
        args += ["--out", str(tmp_path / "m.tif")]
    assert main(args) == 2
    assert "positive, finite number" in capsys.readouterr().err
