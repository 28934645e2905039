"""Synthetic generator: the documented truth rules for every kind, parameter checks, and
connected grains at the smallest grain size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import label as cc_label

from napari_microstructure.core.image_utils import boundaries_from_labels
from napari_microstructure.core.synthetic import KINDS, SyntheticMicrograph, generate
from napari_microstructure.core.synthetic.registry import PARAMETERS, kind_parameters
from napari_microstructure.core.synthetic.tessellation import connect_pieces

OBJECT_KINDS = ("defects", "precipitates")


def disconnected_grains(grains: np.ndarray) -> list[int]:
    """Ids of grains made of more than one 4-connected piece."""
    return [
        gid
        for gid, sl in enumerate(ndimage.find_objects(grains), start=1)
        if sl is not None and cc_label(grains[sl] == gid, connectivity=1).max() > 1
    ]


def truth_problems(m: SyntheticMicrograph) -> list[str]:
    """Every way ``m`` breaks the truth rules of docs/synthetic.md (empty when it keeps them)."""
    out = []
    ids = np.unique(m.grains)
    if not np.array_equal(ids, np.arange(1, ids.size + 1)):
        out.append(f"grain ids are not 1..N: {ids[:3]}...{ids[-3:]}")
    if bad := disconnected_grains(m.grains):
        out.append(f"grains in pieces: {bad[:5]}")
    if m.truth["grain_count"] != ids.size:
        out.append("grain_count differs from the label image")
    change = boundaries_from_labels(m.grains)
    if (missed := int((change & ~m.boundaries).sum())) > 0:
        out.append(f"{missed} of {int(change.sum())} label-change px not under a boundary line")
    obj_ids = [o["id"] for o in m.objects]
    if obj_ids != list(range(1, len(obj_ids) + 1)):
        out.append(f"object ids are not 1..K: {obj_ids[:8]}")
    if set(obj_ids) != set(np.unique(m.defects).tolist()) - {0}:
        out.append("object ids and the instance mask disagree")
    slices = ndimage.find_objects(m.defects)
    for o in m.objects:
        ys, xs = slices[o["id"] - 1]
        if tuple(o["bbox"]) != (xs.start, ys.start, xs.stop, ys.stop):
            out.append(f"object {o['id']}: box {o['bbox']} is not its mask's extent")
    box = m.truth["artefacts"]["scale_bar_box_yxyx"]
    if box is not None:
        y1, x1, y2, x2 = box
        hidden = sorted(set(np.unique(m.defects[y1:y2, x1:x2]).tolist()) - {0})
        if hidden:
            out.append(f"objects under the scale bar: {hidden[:8]}")
    counts: dict[str, int] = {}
    for o in m.objects:
        counts[o["cls"]] = counts.get(o["cls"], 0) + 1
    if m.truth["object_counts"] != dict(sorted(counts.items())):
        out.append("object_counts differs from the objects")
    if not math.isclose(sum(m.truth["phase_fractions"].values()), 1.0):
        out.append("phase fractions do not sum to 1")
    return out


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_kind_keeps_the_documented_truth_rules(kind, seed):
    shape = (256, 256) if seed % 2 else (200, 240)
    m = generate(kind, shape=shape, pixel_size=0.5, seed=seed, scale_bar=seed < 2)
    assert truth_problems(m) == []


@pytest.mark.parametrize("kind", OBJECT_KINDS)
def test_objects_avoid_the_scale_bar(kind):
    # the reported case: precipitates at 0.05 µm/px left 7 objects under the bar, 2 wholly
    ps = 0.05 if kind == "precipitates" else 0.5
    # default particles are 12.5-27.5 µm, a field of 19 µm at 0.05 µm/px: 2 µm (40 px) keeps
    # the reported case's particles in pixels
    params = {"particle_size_um": 2.0} if kind == "precipitates" else {}
    for seed in range(4):
        m = generate(kind, shape=(384, 384), pixel_size=ps, seed=seed, scale_bar=True, **params)
        y1, x1, y2, x2 = m.truth["artefacts"]["scale_bar_box_yxyx"]
        assert not m.defects[y1:y2, x1:x2].any(), seed
        assert not m.phases[y1:y2, x1:x2].any(), seed  # no particle phase under it either
        assert m.objects, seed  # the rest of the field still has its objects


def test_bainite_and_porous_boundaries_cover_every_label_change():
    for kind in ("bainite", "porous"):
        m = generate(kind, shape=(256, 256), seed=0)
        change = boundaries_from_labels(m.grains)
        assert change.sum() > 1000  # many grains, so many changes
        assert m.boundaries[change].all(), kind
        assert m.boundaries.mean() < 0.35, kind  # lines, not the whole field


# --- parameters -------------------------------------------------------------------------

BAD = [
    ("etched", "gap_fraction", 1.5, "[0, 1]"),
    ("etched", "gap_fraction", -0.2, "[0, 1]"),
    ("etched", "line_contrast", 3.0, "[0, 1]"),
    ("etched", "line_width", -2, "(0, 20]"),
    ("etched", "twins", -1, "[0, 1]"),
    ("etched", "scratches", -3, "[0, 100]"),
    ("etched", "waviness", -1, "[0, 1]"),
    ("etched", "grain_size_um", math.nan, "4 px"),
    ("tint", "scratches", 2.7, "whole number"),
    ("ferrite_pearlite", "lamella_spacing_um", -1.0, "(0, 64]"),
    ("ferrite_pearlite", "lamella_spacing_um", 0.0, "(0, 64]"),
    ("ferrite_pearlite", "pearlite_fraction", 1.2, "[0, 1]"),
    ("defects", "n_pores", -2, "[0, 10000]"),
    ("defects", "grain_size_um", 0.5, "4 px"),
    ("defects", "background", "rough", "polished"),
    ("precipitates", "n_fine", -5, "[0, 100000]"),
    ("precipitates", "particle_size_um", math.inf, "4 px"),
    ("precipitates", "area_fraction", 0.95, "(0, 0.9)"),
    ("martensite", "prior_grain_um", -5.0, "4 px"),
    ("martensite", "lath_width_um", 0.0, "(0, 64]"),
    ("martensite", "size_spread", 3.0, "[0, 1]"),
    ("porous", "porosity", 2.0, "[0.02, 0.3]"),
    ("porous", "grain_size_um", 0.5, "4 px"),
    ("dendritic", "arm_spacing_um", 0.0, "(0, 64]"),
    ("bainite", "plate_spacing_um", 0.0, "(0, 64]"),
    ("bainite", "sheaf_um", "wide", "number"),
    ("bimodal", "size_ratio", 0.5, "[1, 10]"),
    ("bimodal", "look", "sepia", "tint"),
    ("etched", "noise", "maybe", "True or False"),
]


@pytest.mark.parametrize(("kind", "name", "value", "allowed"), BAD)
def test_a_value_out_of_range_is_refused_with_its_name_value_and_range(kind, name, value, allowed):
    with pytest.raises(ValueError) as err:
        generate(kind, shape=(128, 128), pixel_size=0.5, seed=1, **{name: value})
    text = str(err.value)
    assert f"{name}={value!r}" in text and allowed in text, text


def test_every_numeric_parameter_of_every_kind_has_a_rule():
    for kind in KINDS:
        for name in kind_parameters(kind):
            assert name in PARAMETERS, (kind, name)


def _ends(name: str, shape: tuple[int, int], ps: float) -> list[object]:
    """The smallest and largest allowed values of a parameter (open ends nudged inside)."""
    rule = PARAMETERS[name]
    if rule.type == "switch":
        return [True, False]
    if rule.type == "choice":
        return list(rule.choices)
    if rule.type == "length":
        lo = rule.min_px * ps if rule.min_px else 0.01 * ps
        return [lo, max(shape) * ps]
    lo = rule.lo + 0.01 if rule.lo_open else rule.lo
    hi = rule.hi - 0.01 if rule.hi_open else rule.hi
    if rule.type == "count":
        return [int(lo), min(int(hi), 3)]  # the top counts are slow, not wrong
    return [lo, hi]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_ends_of_every_allowed_range_draw_a_valid_picture(kind):
    shape, ps = (96, 96), 0.5
    for name in kind_parameters(kind):
        for value in _ends(name, shape, ps):
            m = generate(kind, shape=shape, pixel_size=ps, seed=2, **{name: value})
            assert m.image.shape[:2] == shape, (name, value)
            assert truth_problems(m) == [], (name, value)


def test_a_large_size_spread_never_draws_grains_under_4_px():
    for seed in range(4):
        m = generate("porous", shape=(128, 128), seed=seed, grain_size_um=2.0, size_spread=1.0)
        assert m.truth["mean_grain_area_um2"] / 0.25 > 8  # not a field of 1-px grains


# --- connected grains ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["etched", "tint", "bimodal", "ferrite_pearlite"])
def test_grains_are_connected_at_the_smallest_grain_size(kind):
    # 2 µm at 0.5 µm/px is the 4 px minimum; etched seed 0 had grain 1156 in two pieces
    for seed in range(3):
        m = generate(kind, shape=(384, 384), pixel_size=0.5, seed=seed, grain_size_um=2.0)
        assert disconnected_grains(m.grains) == [], seed
        ids = np.unique(m.grains)
        assert np.array_equal(ids, np.arange(1, ids.size + 1))


def test_connect_pieces_keeps_connected_grains_and_splits_or_merges_the_rest():
    lab = np.array(
        [
            [1, 1, 2, 2, 2, 3],
            [1, 1, 2, 2, 2, 3],
            [2, 1, 1, 1, 1, 3],
            [1, 1, 3, 3, 3, 3],
            [3, 3, 3, 1, 1, 1],
            [3, 3, 3, 1, 1, 1],
        ],
        np.uint32,
    )
    assert connect_pieces(np.array([[1, 1], [2, 2]], np.uint32)).tolist() == [[1, 1], [2, 2]]
    # the lone 2 at (2, 0) is small: it joins grain 1 that surrounds it
    out = connect_pieces(lab, min_area=2)
    assert out[2, 0] == 1 and disconnected_grains(out) == []
    # the 6-px piece of grain 1 at the bottom right is large: it becomes grain 4
    assert (out[4:, 3:] == 4).all() and (out[:4, :2] == 1).all()
    assert np.unique(out).tolist() == [1, 2, 3, 4]
