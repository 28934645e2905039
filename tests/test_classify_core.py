"""Classify core: accuracy, "none of these", magnification, maps, Grad-CAM, save/load, training."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.classify import (
    NONE_OF_THESE,
    Sample,
    TrainConfig,
    class_map,
    classify_image,
    gradcam_map,
    load_classifier,
    train_classifier,
)
from napari_microstructure.core.classify.synthetic_set import synthetic_image
from napari_microstructure.core.classify.train import calibration_steps
from napari_microstructure.core.progress import Progress, run_to_end


@pytest.fixture(scope="module")
def trained():
    from _classify_data import trained as make

    return make()


def test_held_out_accuracy_and_none_of_these(trained):
    model, _, test, unknown = trained
    preds = [classify_image(model, s.image, s.pixel_size, n_crops=32).predicted for s in test]
    acc = np.mean([p == s.label for p, s in zip(preds, test, strict=True)])
    assert acc >= 0.8, list(zip(preds, [s.label for s in test], strict=True))
    known_none = np.mean([p == NONE_OF_THESE for p in preds])
    assert known_none <= 0.2

    # this small, briefly trained model does not put the never-seen class (dendritic) past
    # its calibrated threshold reliably (the benchmark measures that at full size), but its
    # density must rank those images as more novel than typical known-class images
    def novelty_score(s: Sample) -> float:
        from napari_microstructure.core.classify.crops import (
            cut,
            effective_pixel_size,
            prepare_image,
            sample_windows,
        )
        from napari_microstructure.core.classify.predict import crop_outputs

        img = prepare_image(s.image)
        rng = np.random.default_rng(0)
        win = sample_windows(img.shape, 32, model.crop_size, rng, model.zoom_range)
        ps = effective_pixel_size(s.pixel_size, win, model.crop_size)
        return model.density.image_score(
            crop_outputs(model, cut(img, win, model.crop_size), ps)[2]
        )

    known_scores = [novelty_score(s) for s in test]
    unknown_scores = [novelty_score(s) for s in unknown]
    assert np.median(unknown_scores) > np.quantile(known_scores, 0.75) + 0.5
    probs = classify_image(model, test[0].image, test[0].pixel_size, n_crops=16).probabilities
    assert set(probs) == {*model.classes, NONE_OF_THESE}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_magnification_matters(trained):
    """Fine ferrite seen at high and coarse ferrite at low magnification look alike in pixels:
    only the pixel size tells them apart, so swapping it flips the answer."""
    model = trained[0]
    other = {"ferrite_fine": "ferrite_coarse", "ferrite_coarse": "ferrite_fine"}
    cases = [("ferrite_fine", 0.2), ("ferrite_coarse", 0.8)] * 3
    right = swapped = 0
    for i, (name, ps) in enumerate(cases):
        img = synthetic_image(name, ps, seed=500 + i, shape=(192, 192))
        p = classify_image(model, img, ps, n_crops=32).probabilities
        right += p[name] > p[other[name]]
        wrong_ps = 0.8 if ps == 0.2 else 0.2
        p = classify_image(model, img, wrong_ps, n_crops=32).probabilities
        swapped += p[name] > p[other[name]]
    assert right >= 5
    assert swapped <= right - 3


def test_class_map_and_gradcam_find_the_region(trained):
    """Left half bainite, right half porous: the map and Grad-CAM know which is where."""
    model = trained[0]
    ps = 0.4
    left = synthetic_image("bainite", ps, seed=71, shape=(160, 96))
    right = synthetic_image("porous", ps, seed=72, shape=(160, 96))
    img = np.concatenate([left, right], axis=1)
    steps = []
    cm = run_to_end(class_map(model, img, ps), steps.append)
    assert steps and isinstance(steps[-1], Progress) and steps[-1].step == steps[-1].total
    assert cm.labels.shape == img.shape and cm.labels.dtype == np.uint8
    assert cm.probabilities.shape == (len(model.classes) + 1, *img.shape)
    k_b, k_p = model.classes.index("bainite") + 1, model.classes.index("porous") + 1
    assert np.mean(cm.labels[:, 10:80] == k_b) > 0.6
    assert np.mean(cm.labels[:, 112:182] == k_p) > 0.6
    heat = run_to_end(gradcam_map(model, img, "porous", ps))
    assert heat.shape == img.shape and 0.0 <= heat.min() and heat.max() == pytest.approx(1.0)
    assert heat[:, 112:].mean() > 1.5 * heat[:, :80].mean()
    with pytest.raises(ValueError, match="unknown class"):
        run_to_end(gradcam_map(model, img, "austenite", ps))


def test_classify_with_maps_explains_a_known_class(trained):
    from napari_microstructure.core.classify import (
        ImagePrediction,
        classify_with_maps,
        gradcam_target,
    )

    model, _, test, _ = trained
    s = test[0]
    out = run_to_end(classify_with_maps(model, s.image, s.pixel_size, 16, False, True))
    assert out["map"] is None and out["cam"].shape == s.image.shape[:2]
    assert out["cam_class"] == out["prediction"].predicted != NONE_OF_THESE
    # "none of these" has no evidence map: the most likely known class is explained instead
    probs = {c: 0.1 for c in model.classes} | {model.classes[-1]: 0.3, NONE_OF_THESE: 0.4}
    unknown = ImagePrediction(probs, NONE_OF_THESE, n_crops=16, pixel_size=0.4)
    assert gradcam_target(unknown) == model.classes[-1]


def test_save_load_round_trip(trained):
    model, path, test, _ = trained
    loaded = load_classifier(path)
    assert loaded.classes == model.classes and loaded.crop_size == model.crop_size
    assert loaded.pixel_size_range == pytest.approx(model.pixel_size_range)
    assert loaded.density.threshold == pytest.approx(model.density.threshold)
    a = classify_image(model, test[0].image, test[0].pixel_size, n_crops=16, seed=3)
    b = classify_image(loaded, test[0].image, test[0].pixel_size, n_crops=16, seed=3)
    assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_missing_and_odd_pixel_size_warn(trained):
    model, _, test, _ = trained
    no_ps = classify_image(model, test[0].image, None, n_crops=8)
    assert no_ps.pixel_size == pytest.approx(model.default_pixel_size)
    assert any("no pixel size" in w for w in no_ps.warnings)
    far = classify_image(model, test[0].image, 50.0, n_crops=8)
    assert any("outside the trained range" in w for w in far.warnings)


def test_bad_model_files(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_classifier(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="classifier"):
        load_classifier(junk)
    import torch

    old = tmp_path / "old.pt"
    torch.save({"format": "napari-microstructure-classifier/3"}, old)
    with pytest.raises(ValueError, match="older version"):
        load_classifier(old)


def test_cross_fitted_none_of_these_on_known_gaussians():
    """Out-of-fold calibration: new images of the known classes pass at about the requested
    rate, images from elsewhere do not; in-sample scores would set the bar too low."""
    from napari_microstructure.core.classify.density import ClassDensity

    rng = np.random.default_rng(0)
    dim, n_img, n_crop = 8, 30, 24
    centres = rng.normal(0, 4, (3, dim))

    def images(centre: np.ndarray, n: int) -> list[np.ndarray]:
        # each image is offset from its class centre; its crops scatter around that
        return [
            centre + rng.normal(0, 0.5, dim) + rng.normal(0, 1, (n_crop, dim)) for _ in range(n)
        ]

    crops = [images(c, n_img) for c in centres]
    emb = np.concatenate([np.concatenate(c) for c in crops])
    labels = np.repeat(np.arange(3), n_img)
    owner = np.repeat(np.arange(3 * n_img), n_crop)
    density, rec = run_to_end(ClassDensity.cross_fit(emb, owner, labels, 3, image_quantile=0.95))
    assert rec == {
        "calibration_folds": 3,
        "calibration_splits": 1,
        "calibration_out_of_fold": True,
        "calibration_in_sample_classes": [],
    }
    new_known = [im for c in centres for im in images(c, 40)]
    rate = np.mean([density.image_novelty(im) > 0.5 for im in new_known])
    assert rate <= 0.15
    far = images(centres.mean(0) + 6.0, 20)
    assert np.mean([density.image_novelty(im) > 0.5 for im in far]) >= 0.9
    # a single image per class: nothing can be held out, and the record says so
    pair = np.concatenate([crops[0][0], crops[1][0]])
    _, rec = run_to_end(
        ClassDensity.cross_fit(pair, np.repeat([0, 1], n_crop), np.array([0, 1]), 2)
    )
    assert rec["calibration_out_of_fold"] is False
    # several fold splits: the threshold depends far less on which split chance drew
    one, many = (
        [
            run_to_end(
                ClassDensity.cross_fit(
                    emb, owner, labels, 3, rng=np.random.default_rng(s), repeats=r
                )
            )[0].image_threshold
            for s in range(6)
        ]
        for r in (1, 8)
    )
    assert np.std(many) < 0.6 * np.std(one)


def _tiny_samples() -> list[Sample]:
    rng = np.random.default_rng(0)
    stripes = np.sin(np.arange(96) / 2.0)[None, :] * np.ones((96, 1)) * 100 + 128
    return [
        Sample((rng.random((96, 96)) * 255).astype(np.uint8), "noise", 0.5, "n"),
        Sample(stripes.astype(np.uint8), "stripes", 0.5, "s"),
        Sample((rng.random((96, 96)) * 255).astype(np.uint8), "noise", 0.6, "n2"),
        Sample(stripes.T.astype(np.uint8), "stripes", 0.6, "s2"),
    ]


def test_training_is_seeded_cancellable_and_checked():
    cfg = TrainConfig(steps=3, batch_size=8, density_crops=4, seed=5)
    a = run_to_end(train_classifier(_tiny_samples(), cfg))
    b = run_to_end(train_classifier(_tiny_samples(), cfg))
    wa, wb = a.net.state_dict(), b.net.state_dict()
    assert all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)
    gen = train_classifier(_tiny_samples(), TrainConfig(steps=50, batch_size=8))
    first = next(gen)
    # training steps, then one per image embedded and per calibration fold
    n_cal = calibration_steps(len(_tiny_samples()), TrainConfig())
    assert isinstance(first, Progress) and first.total == 50 + n_cal
    gen.close()  # what the widget's Cancel does between steps
    with pytest.raises(ValueError, match="two classes"):
        run_to_end(train_classifier(_tiny_samples()[:1], cfg))
    bad = [*_tiny_samples(), Sample(np.zeros((96, 96), np.uint8), "x", 0.0, "zero.png")]
    with pytest.raises(ValueError, match="zero.png"):
        run_to_end(train_classifier(bad, cfg))


def test_one_image_per_class_still_knows_its_own_images():
    # no class can hold an image out: the spread is a guess, not the 0 of in-sample scores
    from napari_microstructure.core.classify import TrainConfig, classify_image, train_classifier
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples

    samples = synthetic_samples(["ferrite_fine", "porous"], 1, seed=4, shape=(128, 128))
    model = run_to_end(train_classifier(samples, TrainConfig(steps=40, seed=0)))
    assert model.density.image_width >= 0.05
    for s in samples:
        for seed in (0, 1):  # other crops of the training image
            p = classify_image(model, s.image, s.pixel_size, seed=seed)
            assert p.predicted == s.label and p.probabilities["none_of_these"] < 0.5
