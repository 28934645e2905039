"""Synthetic micrographs: exact, self-consistent ground truth; seeds; physical sizes; samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import label as cc_label

from napari_microstructure.core.measure import lineal_intercept
from napari_microstructure.core.synthetic import (
    DEFECT_CLASSES,
    KINDS,
    SyntheticMicrograph,
    generate,
    register_kind,
)

BASE_KINDS = ["etched", "tint", "bimodal", "ferrite_pearlite", "precipitates", "defects"]
SHAPE = (192, 224)


@pytest.fixture(scope="module", params=BASE_KINDS)
def micrograph(request) -> SyntheticMicrograph:
    return generate(request.param, shape=SHAPE, pixel_size=0.5, seed=4)


def test_base_kinds_are_registered():
    assert set(BASE_KINDS) <= set(KINDS)


def test_layers_have_the_documented_types(micrograph):
    m = micrograph
    assert m.image.dtype == np.uint8 and m.image.shape[:2] == SHAPE
    assert m.image.ndim == 2 or m.image.shape[2] == 3
    assert m.grains.dtype == np.uint32 and m.grains.shape == SHAPE
    assert m.defects.dtype == np.uint32 and m.phases.dtype == np.uint8
    assert m.boundaries.dtype == bool
    assert m.phases.max() < len(m.phase_names)
    assert m.image.std() > 3  # not a blank picture


def test_grains_are_a_full_tessellation_of_connected_grains(micrograph):
    g = micrograph.grains
    ids = np.unique(g)
    assert ids[0] == 1 and np.array_equal(ids, np.arange(1, ids.size + 1))
    assert cc_label(g, background=0, connectivity=1).max() == ids.size  # each grain connected


def test_truth_matches_measurement_of_the_label_image(micrograph):
    m, t = micrograph, micrograph.truth
    assert t["pixel_size_um"] == m.pixel_size == 0.5
    assert t["grain_count"] == np.unique(m.grains).size
    if t["grain_count"] > 1:
        li = lineal_intercept(m.grains, m.pixel_size)
        assert t["mean_intercept_um"] == pytest.approx(li.mean_intercept, rel=1e-9)
        assert t["astm_g"] == pytest.approx(li.astm_g, rel=1e-9)
    else:
        assert t["mean_intercept_um"] is None and t["astm_g"] is None


def test_phase_fractions_sum_to_one_and_match_the_phase_map(micrograph):
    fr = micrograph.truth["phase_fractions"]
    assert list(fr) == micrograph.phase_names
    assert sum(fr.values()) == pytest.approx(1.0)
    for i, name in enumerate(micrograph.phase_names):
        assert fr[name] == pytest.approx(np.mean(micrograph.phases == i))


def test_boxes_are_the_exact_extent_of_their_masks(micrograph):
    m = micrograph
    assert {o["id"] for o in m.objects} == set(np.unique(m.defects)) - {0}
    for o in m.objects:
        ys, xs = np.nonzero(m.defects == o["id"])
        x1, y1, x2, y2 = o["bbox"]
        assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert DEFECT_CLASSES[o["class_id"]] == o["cls"]
    assert m.truth["object_counts"] == {
        c: sum(o["cls"] == c for o in m.objects) for c in {o["cls"] for o in m.objects}
    }


def test_boundaries_lie_on_label_changes(micrograph):
    m = micrograph
    change = np.zeros(SHAPE, bool)
    change[:, :-1] |= m.grains[:, :-1] != m.grains[:, 1:]
    change[:-1, :] |= m.grains[:-1, :] != m.grains[1:, :]
    if not change.any():
        assert not m.boundaries.any()
        return
    dist = ndimage.distance_transform_edt(~change)
    assert dist[m.boundaries].max() <= 3.5  # lines at most ~5 px wide, centred on the change
    assert m.boundaries[change].all()  # and every change is under a line


@pytest.mark.parametrize("kind", ["etched", "defects", "tint"])
def test_same_seed_same_picture_other_seed_other_picture(kind):
    a = generate(kind, shape=(128, 128), seed=7)
    b = generate(kind, shape=(128, 128), seed=7)
    c = generate(kind, shape=(128, 128), seed=8)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.grains, b.grains)
    np.testing.assert_array_equal(a.defects, b.defects)
    assert a.objects == b.objects and a.truth == b.truth
    assert not np.array_equal(a.image, c.image)


def test_grain_size_parameter_sets_the_true_intercept():
    for size in (6.0, 15.0):
        m = generate("etched", shape=(384, 384), pixel_size=0.5, seed=1, grain_size_um=size)
        # wavy boundaries add length, so the true intercept is a little below the target
        assert 0.7 * size < m.truth["mean_intercept_um"] < 1.1 * size


def test_objects_are_drawn_in_micrometres():
    counts = dict(n_inclusions=0, n_pores=6, n_cracks=0, n_precipitates=0, n_scratches=0)
    sizes = {}
    for ps in (0.25, 0.5):
        w = []
        for seed in range(3):
            m = generate("defects", shape=(384, 384), pixel_size=ps, seed=seed, **counts)
            w += [o["bbox"][2] - o["bbox"][0] for o in m.objects]
        sizes[ps] = np.median(w)
    assert 1.5 < sizes[0.25] / sizes[0.5] < 2.7


def test_defect_classes_look_different():
    m = generate(
        "defects",
        shape=(512, 512),
        seed=2,
        n_inclusions=6,
        n_pores=5,
        n_cracks=2,
        n_precipitates=10,
        n_scratches=0,
        illumination=False,
        dust=False,
    )
    img = m.image.astype(float)
    matrix = np.median(img[m.defects == 0])
    mean = {
        c: np.mean([np.median(img[m.defects == o["id"]]) for o in m.objects if o["cls"] == c])
        for c in ("inclusion", "pore", "crack", "precipitate")
    }
    assert mean["pore"] < mean["inclusion"] < matrix < mean["precipitate"]
    assert mean["crack"] < matrix - 60


def test_scale_bar_is_burnt_in_and_objects_avoid_it():
    m = generate("defects", shape=(256, 256), seed=3, scale_bar=True, n_pores=8)
    y1, x1, y2, x2 = m.truth["artefacts"]["scale_bar_box_yxyx"]
    box = m.image[y1:y2, x1:x2]
    assert ((box == 255) | (box == 0)).mean() > 0.05  # a pure black or white bar and text
    assert not m.defects[y1:y2, x1:x2].any()
    assert (
        generate("defects", shape=(256, 256), seed=3, scale_bar=False).truth["artefacts"][
            "scale_bar_um"
        ]
        is None
    )


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match="unknown synthetic kind"):
        generate("nope")
    with pytest.raises(ValueError, match="no parameter"):
        generate("etched", shape=(64, 64), grain_sise_um=3)
    with pytest.raises(ValueError, match="shape"):
        generate("etched", shape=(8, 8))
    with pytest.raises(ValueError, match="pixel_size"):
        generate("etched", shape=(64, 64), pixel_size=0)
    with pytest.raises(ValueError, match="4 px"):
        generate("etched", shape=(64, 64), pixel_size=1.0, grain_size_um=1.0)


def test_register_kind_adds_a_kind_with_truth():
    @register_kind("_test_flat")
    def flat(rng, shape, pixel_size, *, level: int = 100):
        from napari_microstructure.core.synthetic.artefacts import ArtefactPlan
        from napari_microstructure.core.synthetic.compose import finish

        return finish(rng, np.full(shape, level / 255, np.float32), ArtefactPlan(), pixel_size)

    try:
        m = generate("_test_flat", shape=(64, 64), pixel_size=2.0, seed=0, level=50)
        assert m.kind == "_test_flat" and m.truth["grain_count"] == 1
        assert m.truth["pixel_size_um"] == 2.0 and (m.image == 50).all()
    finally:
        KINDS.pop("_test_flat")


def test_sample_layers_carry_pixel_size_and_truth():
    from napari_microstructure import _sample_data

    for fn in (_sample_data.sample_etched, _sample_data.sample_defects):
        (img, kw, kind), (lab, lkw, lkind) = fn()
        ps = kw["metadata"]["pixel_size_um"]
        assert kind == "image" and lkind == "labels" and ps > 0
        assert kw["scale"] == (ps, ps) and lkw["scale"] == (ps, ps) and not lkw["visible"]
        assert lab.shape == img.shape[:2] and lab.max() > 0


def test_sample_files_are_what_the_generator_draws():
    import tifffile

    from napari_microstructure.core.atomic import written_as_labels
    from napari_microstructure.core.imageio import read_micrograph
    from napari_microstructure.core.synthetic.samples import SAMPLES, sample

    folder = Path(__file__).resolve().parents[1] / "sample_data"
    for name in SAMPLES:
        mf = read_micrograph(folder / f"{name}.tif")
        m = sample(name)
        ps = m.pixel_size
        assert mf.pixel_size == pytest.approx(ps)
        np.testing.assert_array_equal(mf.data, m.image)
        truth = tifffile.imread(folder / f"{name}_truth.tif")
        assert truth.max() > 0 and truth.shape == m.image.shape[:2]
        # opened by the plugin as a Labels layer at the image's pixel size (Measure takes it)
        assert written_as_labels(folder / f"{name}_truth.tif")
        assert read_micrograph(folder / f"{name}_truth.tif").pixel_size == pytest.approx(ps)


def test_boundary_warp_never_folds_the_grid():
    from napari_microstructure.core.synthetic.tessellation import fold_free_warp

    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
    wy, wx = fold_free_warp(np.random.default_rng(0), yy, xx, amplitude=12.0, scale=20.0)
    dyy, dyx = np.gradient(wy)
    dxy, dxx = np.gradient(wx)
    jac = dyy * dxx - dyx * dxy
    assert jac.min() > 0  # one-to-one: wavy boundaries cannot cross or leave slivers
    assert np.abs(wy - yy).mean() > 2  # and the displacement is real, not capped to nothing


def test_requested_objects_are_all_placed_at_the_default_density():
    for seed in range(6):
        m = generate("defects", shape=(512, 512), seed=seed, n_cracks=2)
        assert m.truth["object_counts"] == {
            k: v for k, v in m.truth["requested_counts"].items() if v
        }, seed
