"""Segmentation core: U-Net training on synthetic two-phase images, tiling, model files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import (
    TrainConfig,
    boundary_f1,
    evaluate,
    grains_from_boundary_probability,
    grains_from_model,
    image_uncertainty,
    iou_per_class,
    load_model,
    new_model,
    phase_fractions,
    pixel_uncertainty,
    predict_probabilities,
    pretrain_synthetic,
    segment,
    synthetic_pairs,
    synthetic_start,
    train_model,
)
from napari_microstructure.core.segment.predict import scale_factor
from napari_microstructure.core.segment.tiling import predict_tiles, prepare_input

TINY = {"base": 8, "depth": 2, "crop": 64, "batch_size": 4}


@pytest.fixture(scope="module")
def two_phase():
    """Six training and two held-out synthetic ferrite-pearlite images (128 px)."""
    train = synthetic_pairs("phases", n=6, shape=(128, 128), kinds=("ferrite_pearlite",), seed=10)
    test = synthetic_pairs("phases", n=2, shape=(128, 128), kinds=("ferrite_pearlite",), seed=99)
    return train, test


@pytest.fixture(scope="module")
def trained(two_phase):
    torch.set_num_threads(1)
    cfg = TrainConfig(task="phases", epochs=4, steps_per_epoch=6, seed=0, pixel_size=0.5, **TINY)
    return run_to_end(train_model(two_phase[0], cfg))


def test_train_config_rejects_bad_device_and_zoom_range():
    with pytest.raises(ValueError, match="device"):
        TrainConfig(device="not-a-device")
    with pytest.raises(ValueError, match="scale range"):
        TrainConfig(scale=(1.4, 0.7))
    with pytest.raises(ValueError, match="workers"):
        TrainConfig(workers=-1)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            TrainConfig(device="cuda")


def test_training_beats_untrained_model_on_held_out_images(two_phase, trained):
    _, test = two_phase
    torch.manual_seed(0)
    untrained = new_model("phases", ["ferrite", "pearlite"], base=8, depth=2)
    before = evaluate(untrained.net, test, "phases")["mean_iou"]
    after = evaluate(trained.net, test, "phases")["mean_iou"]
    assert after >= 0.75
    assert after >= before + 0.3
    hist = trained.metrics["history"]
    assert len(hist) == trained.metrics["epochs_run"] >= 1
    assert trained.metrics["validation"]["mean_iou"] > 0.5


def test_training_is_reproducible_with_a_seed(two_phase):
    cfg = TrainConfig(task="phases", epochs=1, steps_per_epoch=2, seed=3, val_fraction=0, **TINY)
    a = run_to_end(train_model(two_phase[0][:2], cfg))
    b = run_to_end(train_model(two_phase[0][:2], cfg))
    # threads drawing the batches ahead draw the same batches
    ahead = TrainConfig(**{**cfg.__dict__, "workers": 2})
    c = run_to_end(train_model(two_phase[0][:2], ahead))
    for (ka, va), (_, vb), (_, vc) in zip(
        a.net.state_dict().items(),
        b.net.state_dict().items(),
        c.net.state_dict().items(),
        strict=True,
    ):
        assert torch.equal(va, vb) and torch.equal(va, vc), ka


@pytest.mark.parametrize("workers", [0, 2])
def test_training_stops_when_the_generator_is_closed(two_phase, workers):
    import threading

    before = threading.active_count()
    cfg = TrainConfig(task="phases", epochs=50, steps_per_epoch=2, workers=workers, **TINY)
    gen = train_model(two_phase[0][:2], cfg)
    steps = [next(gen) for _ in range(4)]  # two batches, the epoch summary, one batch
    gen.close()
    assert "validation" in steps[2].message
    assert steps[-1].step == 3 and steps[-1].total == 100
    with pytest.raises(StopIteration):
        next(gen)
    assert threading.active_count() == before  # no thread left drawing batches


def test_one_training_image_is_not_stopped_early_on_its_validation_strip(two_phase, monkeypatch):
    import napari_microstructure.core.segment.train as train

    # a validation score that never improves: patience 1 stops after the second epoch
    monkeypatch.setattr(train, "evaluate", lambda *a: {"score": 0.5})
    cfg = TrainConfig(task="phases", epochs=4, steps_per_epoch=1, patience=1, **TINY)
    two = run_to_end(train_model(two_phase[0][:2], cfg))
    one = run_to_end(train_model(two_phase[0][:1], cfg))
    assert two.metrics["epochs_run"] == 2
    assert one.metrics["epochs_run"] == 4 and one.metrics["best_epoch"] == 1


def test_tiled_prediction_equals_whole_image_away_from_borders(trained):
    rng = np.random.default_rng(0)
    image = synthetic_pairs("phases", n=1, shape=(200, 232), kinds=("ferrite_pearlite",), seed=5)[
        0
    ].image[0]
    image = image + rng.normal(0, 0.01, image.shape).astype(np.float32)
    arr = prepare_input(image, 1)
    whole = run_to_end(predict_tiles(trained.net, arr, tile=0))
    tiled = run_to_end(predict_tiles(trained.net, arr, tile=96, overlap=48))
    assert whole.shape == tiled.shape == (2, 200, 232)
    inner = (slice(None), slice(24, -24), slice(24, -24))
    assert np.abs(whole[inner] - tiled[inner]).mean() < 0.01
    agree = (whole.argmax(0) == tiled.argmax(0))[24:-24, 24:-24].mean()
    assert agree > 0.99


def test_saved_model_reloads_and_predicts_the_same(trained, two_phase, tmp_path):
    path = trained.save(tmp_path / "sub" / "phases.pt")
    loaded = load_model(path)
    assert loaded.classes == trained.classes and loaded.task == "phases"
    assert loaded.pixel_size == 0.5
    assert loaded.training_data == trained.training_data and loaded.training_data
    assert loaded.metrics["validation"] == trained.metrics["validation"]
    image = two_phase[1][0].image[0]
    a = segment(image, trained, pixel_size=0.5)
    b = segment(image, loaded, pixel_size=0.5)
    np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert a.labels.dtype == np.uint8 and a.confidence.shape == image.shape
    assert np.all(a.confidence >= 0.5 - 1e-6) and np.all(a.confidence <= 1 + 1e-6)


def test_bad_model_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable"):
        load_model(junk)
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a napari-microstructure"):
        load_model(tmp_path / "other.pt")


def test_prediction_at_the_model_pixel_size(trained, two_phase):
    assert scale_factor(trained, 0.25) == pytest.approx(0.5)
    assert scale_factor(trained, None) == 1.0
    image = two_phase[1][0].image[0]
    big = np.kron(image, np.ones((2, 2), np.float32))  # the same field at 0.25 µm/px
    native = segment(image, trained, pixel_size=0.5).labels
    resampled = segment(big, trained, pixel_size=0.25).labels
    assert resampled.shape == big.shape
    assert (resampled[::2, ::2] == native).mean() > 0.9


def test_an_image_too_large_to_predict_whole_is_refused(trained, monkeypatch):
    import napari_microstructure.core.image_utils as image_utils

    # ~16 bytes a pixel per class + 16: 48 for this 2-class model
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 48 * 64 * 64)
    with pytest.raises(ValueError, match=r"65x64 px .* too large to segment at once"):
        segment(np.zeros((65, 64), np.float32), trained)
    # 40 x 40 px at 1 µm/px is 80 x 80 on the model's 0.5 µm/px grid: refused too
    assert trained.pixel_size == 0.5
    with pytest.raises(ValueError, match="80x80 px"):
        segment(np.zeros((40, 40), np.float32), trained, pixel_size=1.0)
    assert segment(np.zeros((40, 40), np.float32), trained).labels.shape == (40, 40)


def test_uncertainty_and_phase_fractions(trained, two_phase):
    image = two_phase[1][0].image[0]
    unc = pixel_uncertainty(image, trained)
    assert unc.shape == image.shape and 0.0 <= unc.min() and unc.max() <= 1.0
    noise = np.random.default_rng(1).random(image.shape).astype(np.float32)
    assert image_uncertainty(noise, trained) > image_uncertainty(image, trained)
    fr = phase_fractions(np.array([[0, 1], [1, 1]]), ["ferrite", "pearlite"])
    assert fr == {"ferrite": 0.25, "pearlite": 0.75}


def test_a_phase_map_of_a_featureless_image_comes_with_a_warning(
    trained, two_phase, tmp_path, capsys, caplog
):
    import json

    import tifffile

    from napari_microstructure.cli import main

    assert segment(two_phase[1][0].image[0], trained).warning is None
    noise = np.random.default_rng(0).normal(0.6, 0.03, (96, 96)).astype(np.float32)
    assert "no structure above the noise" in segment(noise, trained).warning
    tifffile.imwrite(tmp_path / "blank.tif", noise)
    model = str(trained.save(tmp_path / "p.pt"))
    args = ["segment", str(tmp_path / "blank.tif"), "--model", model, "--out", str(tmp_path)]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert "no structure above the noise" in result["warning"]
    assert "no structure above the noise" in caplog.text


def test_iou_and_boundary_f1():
    truth = np.zeros((40, 40), np.uint8)
    truth[:, 20:] = 1
    assert iou_per_class(truth, truth, 2) == [1.0, 1.0]
    assert iou_per_class(np.zeros_like(truth), truth, 2)[1] == 0.0
    line = np.zeros((40, 40), bool)
    line[:, 20] = True
    shifted = np.roll(line, 2, axis=1)
    assert boundary_f1(shifted, line, tolerance=3)["f1"] == pytest.approx(1.0)
    assert boundary_f1(shifted, line, tolerance=1)["f1"] == pytest.approx(0.0)


def test_grains_from_a_boundary_map():
    from napari_microstructure.core.synthetic import generate

    m = generate("etched", shape=(192, 192), seed=4, gap_fraction=0.0)
    prob = m.boundaries.astype(np.float32)
    labels = grains_from_boundary_probability(prob, min_grain_px=20)
    assert labels.dtype == np.uint32 and labels.min() >= 1
    n_true = int(m.truth["grain_count"])
    assert abs(int(labels.max()) - n_true) <= max(3, 0.25 * n_true)


def test_grains_from_model_needs_a_boundaries_model(trained, tmp_path):
    path = trained.save(tmp_path / "phases.pt")
    with pytest.raises(ValueError, match="not grain boundaries"):
        grains_from_model(np.zeros((64, 64), np.uint8), path)
    torch.manual_seed(0)
    bmodel = new_model("boundaries", ["interior", "boundary"], base=4, depth=2)
    labels = grains_from_model(
        np.random.default_rng(0).random((70, 90)), bmodel.save(tmp_path / "b.pt")
    )
    assert labels.shape == (70, 90) and labels.dtype == np.uint32 and labels.min() >= 1


def test_probabilities_reject_bad_images(trained):
    with pytest.raises(ValueError, match="2-D"):
        run_to_end(predict_probabilities(np.zeros((2, 3, 4, 5)), trained))


def test_split_separates_grains_joined_through_a_boundary_gap():
    prob = np.zeros((60, 120), np.float32)
    prob[:, 59:61] = 1.0
    prob[27:33, 59:61] = 0.0  # a 6-pixel gap in the line
    assert grains_from_boundary_probability(prob, smooth=0).max() == 1
    assert grains_from_boundary_probability(prob, smooth=0, split=2.0).max() == 2


def test_synthetic_pretraining_initialises_a_model_with_other_classes(two_phase):
    pre = run_to_end(
        pretrain_synthetic(
            "phases",
            n_images=2,
            epochs=1,
            base=4,
            depth=2,
            kinds=("ferrite_pearlite",),
            shape=(96, 96),
            steps_per_epoch=2,
            batch_size=2,
            crop=64,
        )
    )
    assert pre.training_data[0].startswith("synthetic:ferrite_pearlite")
    cfg = TrainConfig(
        task="phases",
        classes=["a", "b", "c"],
        epochs=1,
        steps_per_epoch=1,
        base=4,
        depth=2,
        crop=64,
        batch_size=2,
        val_fraction=0,
    )
    pairs = two_phase[0][:1]
    model = run_to_end(train_model(pairs, cfg, init=pre))
    assert model.n_classes == 3  # the head is new, the encoder came from the synthetic model
    assert model.config["base"] == 4


def test_channel_shuffle_permutes_colours_and_keeps_the_mask():
    from napari_microstructure.core.segment.augment import Augment, random_crop

    rng = np.random.default_rng(0)
    image = np.stack([np.full((32, 32), v, np.float32) for v in (0.1, 0.5, 0.9)])
    mask = (np.arange(32)[:, None] > 15).repeat(32, 1).astype(np.uint8)
    plain = Augment(scale=(1, 1), gamma=(1, 1), color=0, blur_p=0, noise_p=0, stat_jitter=0)
    shuffled = Augment(**{**plain.__dict__, "shuffle_channels": 1.0})
    seen = set()
    for _ in range(20):
        x, m = random_crop(image, mask, 32, rng, shuffled)
        seen.add(tuple(np.argsort(x[:, 0, 0])))
        assert sorted(np.round(x[:, 0, 0], 4)) == sorted(np.round(x[:, 5, 5], 4))
        assert m.sum() == mask.sum()
    assert len(seen) > 1  # the channel order changes from crop to crop
    x, _ = random_crop(image, mask, 32, rng, plain)
    assert list(np.argsort(x[:, 0, 0])) == [0, 1, 2]  # no shuffle unless asked


def test_crops_are_standardised_as_if_the_phases_covered_other_shares():
    # whole-image statistics tie the input to the phase fractions: a model that saw 15-60 %
    # pearlite called 33-38 % of a 3 % pearlite image pearlite (benchmarks/bench_phase_fractions)
    from napari_microstructure.core.segment.augment import Augment, random_crop

    image = np.full((1, 64, 64), 0.2, np.float32)
    mask = np.zeros((64, 64), np.uint8)
    image[:, :, :6], mask[:, :6] = 0.8, 1  # class 1 covers about 10 %
    mask[:2] = 255  # ignored pixels
    plain = Augment(scale=(1, 1), gamma=(1, 1), color=0, blur_p=0, noise_p=0, stat_jitter=0)
    recomposed = Augment(**{**plain.__dict__, "composition": 1.0})
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(200):
        x, _ = random_crop(image, mask, 64, rng, recomposed)
        lo, hi = float(x.min()), float(x.max())  # -mean/std and +... of the two classes
        # standardised values of a two-class mixture with share w of class 1 are
        # -sqrt(w / (1 - w)) and +sqrt((1 - w) / w)
        w = 1.0 / (1.0 + hi**2)
        assert lo == pytest.approx(-np.sqrt(w / (1 - w)), rel=1e-3)
        shares.append(w)
    assert min(shares) < 0.05 and max(shares) > 0.95  # rare and dominant class 1 both seen
    x, _ = random_crop(image, mask, 64, rng, plain)  # off: the shares of its sampled pixels
    assert 1.0 / (1.0 + float(x.max()) ** 2) == pytest.approx(2 / 16, abs=1e-3)  # 2 of 16 columns
    one_class = np.zeros_like(mask)
    x, _ = random_crop(image, one_class, 64, rng, recomposed)  # one class: nothing to recompose
    y, _ = random_crop(image, one_class, 64, rng, plain)
    np.testing.assert_allclose(np.unique(x.round(4)), np.unique(y.round(4)))
    assert TrainConfig(task="phases").composition > 0


def test_synthetic_start_of_a_boundary_network_is_the_builtin_model(monkeypatch):
    import napari_microstructure.core.segment.synthetic_data as sd

    messages = []
    start = run_to_end(synthetic_start("boundaries", 3), lambda p: messages.append(p.message))
    builtin = load_model(sd.BUILTIN_BOUNDARY_MODEL)
    assert start.task == "boundaries" and "built-in" in messages[-1]
    for k, v in builtin.net.state_dict().items():
        assert torch.equal(start.net.state_dict()[k], v), k
    # another width, or another task: a short pretraining of that network instead
    calls = []

    def fake_pretrain(task, in_channels, n, **kw):
        calls.append((task, in_channels, n, kw["base"], kw["depth"]))
        yield from ()
        return "pretrained"

    monkeypatch.setattr(sd, "pretrain_synthetic", fake_pretrain)
    narrow = synthetic_start("boundaries", 3, base=8, depth=2, n_images=4)
    assert run_to_end(narrow) == "pretrained"
    assert run_to_end(synthetic_start("phases", 1)) == "pretrained"
    assert calls == [("boundaries", 3, 4, 8, 2), ("phases", 1, 8, 16, 4)]
