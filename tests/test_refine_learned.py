"""The built-in engine on the shipped learned boundary model ("learned")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_microstructure.core.grains import segment_all_grains
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import make_engine
from napari_microstructure.core.refine.accuracy import click_ious
from napari_microstructure.core.refine.learned_boundary import (
    BUILTIN_BOUNDARY_MODEL,
    learned_boundary_map,
)
from napari_microstructure.core.synthetic import generate


@pytest.mark.parametrize("kind", ["tint", "etched"])
def test_learned_map_gives_better_clicks_than_filters(kind):
    # measured on this image (256 px, seed 103): filters 0.752 / 0.804 mean click IoU,
    # learned 0.840 / 0.900 (tint / etched)
    m = generate(kind, shape=(256, 256), seed=103)
    ious = {}
    for name in ("classical", "learned"):
        engine = make_engine(name)
        run_to_end(engine.set_image(m.image, m.pixel_size))
        assert engine.name == name
        ious[name] = click_ious(engine, m.grains).mean()
    assert ious["learned"] > ious["classical"] + 0.05, ious


def test_segment_all_learned_matches_the_engine_and_the_model_is_shipped():
    assert BUILTIN_BOUNDARY_MODEL.is_file()
    m = generate("tint", shape=(192, 192), seed=7)
    engine = make_engine("learned")
    run_to_end(engine.set_image(m.image, m.pixel_size))
    labels = run_to_end(segment_all_grains(m.image, m.pixel_size, "learned"))
    assert np.array_equal(labels, engine.labels)
    n_true = int(m.grains.max())
    assert abs(int(labels.max()) - n_true) <= 0.2 * n_true


def test_learned_map_bad_input_and_missing_model(tmp_path):
    with pytest.raises(ValueError, match="too small"):
        run_to_end(learned_boundary_map(np.zeros((4, 4), np.uint8)))
    with pytest.raises(ValueError, match="grey"):
        run_to_end(learned_boundary_map(np.zeros((32, 32, 5), np.uint8)))
    with pytest.raises(FileNotFoundError, match="not found"):
        run_to_end(learned_boundary_map(np.zeros((32, 32), np.uint8), tmp_path / "no.pt"))
    with pytest.raises(ValueError, match="boundary source"):
        make_engine("classical").__class__("bogus")


def test_grains_cli_learned(tmp_path, capsys, monkeypatch):
    from skimage.io import imsave

    from napari_microstructure.cli import main

    m = generate("tint", shape=(192, 192), seed=4)
    path = tmp_path / "t.png"
    imsave(path, (m.image * 255).astype(np.uint8) if m.image.dtype != np.uint8 else m.image)
    assert main(["grains", str(path), "--pixel-size", "0.5", "--learned", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["grain_count"] - int(m.grains.max())) <= 0.2 * int(m.grains.max())
    assert main(["grains", str(path), "--learned", "--model", str(path)]) == 2
    import napari_microstructure.core.image_utils as image_utils

    capsys.readouterr()
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 90 * 64 * 64)  # a montage
    assert main(["grains", str(path), "--json"]) == 2
    assert "too large to segment at once" in capsys.readouterr().err


def test_images_too_large_to_segment_whole_are_refused_before_any_work(monkeypatch):
    import napari_microstructure.core.image_utils as image_utils

    # a machine with 2 GiB to spare: the built-in segmentation's ~90 B/px allow ~4900^2 px
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 2 * 2**30)
    big = np.zeros((5000, 5000), np.uint8)
    for engine in ("classical", "learned", "model"):
        with pytest.raises(ValueError, match="too large to segment at once"):
            run_to_end(segment_all_grains(big, 0.5, engine, model_path="unused.pt"))
    msg = r"5000x5000 px \(25 Mpx\).*about 2 GiB.*4 GiB; segment a crop of at most about 4884 x"
    with pytest.raises(ValueError, match=msg):
        run_to_end(make_engine("classical").set_image(big))
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 90 * 64 * 64)
    with pytest.raises(ValueError, match="too large"):
        run_to_end(learned_boundary_map(np.zeros((65, 64), np.uint8)))
    # and the budget is half of this machine's memory
    monkeypatch.undo()
    import psutil

    assert image_utils.memory_budget() == int(0.5 * psutil.virtual_memory().total)


def test_learned_map_of_grey_images_averages_four_flips():
    from napari_microstructure.core.segment.grains import boundary_model
    from napari_microstructure.core.segment.predict import predict_probabilities

    net = boundary_model(BUILTIN_BOUNDARY_MODEL)
    grey = generate("etched", shape=(64, 64), seed=4).image  # one tile, no padding

    def plain(img):
        return run_to_end(predict_probabilities(img, net, None))[-1]

    views = [
        plain(grey),
        plain(grey[:, ::-1])[:, ::-1],
        plain(grey[::-1, ::-1])[::-1, ::-1],
        plain(grey[::-1])[::-1],
    ]
    got = run_to_end(learned_boundary_map(grey))
    np.testing.assert_allclose(got, np.clip(np.mean(views, axis=0), 0, 1), atol=1e-5)
    assert np.abs(got - views[0]).max() > 1e-3  # not the plain map
    rgb = generate("tint", shape=(64, 64), seed=4).image  # colour: the plain map
    np.testing.assert_allclose(run_to_end(learned_boundary_map(rgb)), plain(rgb), atol=1e-6)


@pytest.mark.parametrize("engine", ["classical", "learned"])
def test_featureless_images_are_one_region_and_say_so(engine, tmp_path, capsys, caplog):
    from napari_microstructure.cli import main
    from napari_microstructure.core.grains import no_grains_warning

    uniform = np.full((128, 128), 120, np.uint8)
    ramp = np.tile(np.linspace(0, 255, 128), (128, 1)).astype(np.uint8)
    for image in (uniform, ramp):  # the learned map found 4 and 13 "grains" on these
        labels = run_to_end(segment_all_grains(image, 0.5, engine))
        assert labels.max() == 1 and "no grain boundaries" in no_grains_warning(labels)
    etched = generate("etched", shape=(128, 128), seed=3)
    assert no_grains_warning(run_to_end(segment_all_grains(etched.image, 0.5, engine))) is None
    import tifffile

    path = tmp_path / "blank.tif"
    tifffile.imwrite(path, uniform)
    flag = ["--learned"] if engine == "learned" else []
    assert main(["grains", str(path), *flag]) == 0  # plain text output, no pixel size
    assert "1 grain, mean intercept n/a, ASTM G n/a" in capsys.readouterr().out
    assert "no grain boundaries found" in caplog.text


def test_model_engine_clicks_on_the_grains_of_a_trained_boundaries_model(tmp_path):
    from napari_microstructure.core.refine import ClassicalEngine
    from napari_microstructure.core.segment import TrainConfig, synthetic_pairs, train_model
    from napari_microstructure.core.segment.grains import grains_from_model

    # the shipped boundary model is a boundaries model file like those train-seg writes
    m = generate("etched", shape=(192, 192), seed=4)
    eng = make_engine("model", model_path=BUILTIN_BOUNDARY_MODEL)
    run_to_end(eng.set_image(m.image, m.pixel_size))
    assert eng.name == "model"
    expected = grains_from_model(m.image, BUILTIN_BOUNDARY_MODEL, m.pixel_size)
    np.testing.assert_array_equal(eng.labels, expected)  # the grains of `grains --model`
    got = run_to_end(
        segment_all_grains(m.image, m.pixel_size, "model", model_path=BUILTIN_BOUNDARY_MODEL)
    )
    np.testing.assert_array_equal(got, expected)
    assert click_ious(eng, m.grains).mean() > 0.75  # 0.81 measured (watershed tuned on tint)
    # every finer piece lies in one grain
    pieces = eng.seg.fine
    assert all(len(np.unique(eng.labels[pieces == p])) == 1 for p in np.unique(pieces))

    with pytest.raises(ValueError, match="needs a boundaries model"):
        make_engine("model")
    pairs = synthetic_pairs("phases", n=2, shape=(64, 64), kinds=("ferrite_pearlite",), seed=3)
    cfg = TrainConfig(task="phases", epochs=1, steps_per_epoch=1, base=4, depth=2, crop=32)
    phases = tmp_path / "phases.pt"
    run_to_end(train_model(pairs, cfg)).save(phases)
    with pytest.raises(ValueError, match="segments phases, not grain boundaries"):
        run_to_end(ClassicalEngine("model", model_path=phases).set_image(m.image))


def test_noise_on_a_featureless_image_is_not_taken_for_grains():
    # a polished, unetched field: flat grey or shaded, with camera noise. Standardised for the
    # network, the noise was drawn at full contrast: 187-221 "grains" on a flat 512 px field
    from napari_microstructure.core.image_noise import FEATURELESS_BELOW, structure_contrast
    from napari_microstructure.core.segment import segment
    from napari_microstructure.core.segment.grains import grains_from_model

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256] / 256
    shading = 0.7 - 0.3 * ((yy - 0.5) ** 2 + (xx - 0.5) ** 2)
    for base, sd in ((np.full((256, 256), 0.6), 0.01), (shading, 0.04)):
        grey = np.clip(base + rng.normal(0, sd, base.shape), 0, 1).astype(np.float32)
        colour = np.stack([grey * 0.9, grey, grey * 0.8], -1)
        for image in (grey, colour):
            assert structure_contrast(image) < FEATURELESS_BELOW
            assert run_to_end(segment_all_grains(image, 0.5, "learned")).max() == 1
            assert grains_from_model(image, BUILTIN_BOUNDARY_MODEL).max() == 1
            seg = segment(image, BUILTIN_BOUNDARY_MODEL)  # no boundary, and the user is told
            assert not seg.labels.any() and "No boundaries were drawn" in seg.warning
    for kind in ("etched", "tint"):  # grains with as much noise are still grains
        m = generate(kind, shape=(256, 256), seed=5, noise=True)
        assert structure_contrast(m.image) > 2 * FEATURELESS_BELOW
        assert run_to_end(segment_all_grains(m.image, m.pixel_size, "learned")).max() > 20
        assert segment(m.image, BUILTIN_BOUNDARY_MODEL).warning is None
