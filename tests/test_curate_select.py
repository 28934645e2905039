"""Queue order: uncertainty plus novelty against the labelled and already queued images."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.curate.select import (
    class_gain,
    queue_order,
    representativeness,
    standardize,
)


def test_weight_zero_is_the_uncertainty_order():
    rng = np.random.default_rng(0)
    scores = rng.random(12)
    q = queue_order(scores, rng.normal(size=(12, 5)), weight=0.0)
    order, priority = q.order, q.priority
    assert list(order) == list(np.argsort(-scores, kind="stable"))
    assert (np.diff(priority) <= 0).all()


def test_look_alikes_give_way_to_a_new_kind():
    # three near-copies the model is most unsure of, one image of another kind, one dull image
    emb = np.array([[0, 0], [0, 0.01], [0.01, 0], [5, 5], [0, 0.5]], float)
    scores = np.array([2.0, 2.0, 2.0, 1.6, 0.0])
    by_score = np.argsort(-scores, kind="stable")
    q = queue_order(scores, emb, weight=1.0)
    order, priority, novelty = q.order, q.priority, q.novelty
    assert set(by_score[:2]) <= {0, 1, 2}
    assert order[0] in {0, 1, 2} and order[1] == 3  # not a second copy
    assert (np.diff(priority) <= 1e-12).all() and ((0 <= novelty) & (novelty <= 1)).all()


def test_images_unlike_the_labelled_set_come_first():
    rng = np.random.default_rng(1)
    labelled = rng.normal(0, 0.1, (6, 4))
    like = rng.normal(0, 0.1, (4, 4))
    unlike = rng.normal(3, 0.1, (2, 4))
    emb = np.vstack([like, unlike])
    scores = np.array([1.0, 0.9, 1.1, 0.95, 0.5, 0.5])  # the model is no surer of either kind
    q = queue_order(scores, emb, reference=labelled, weight=2.0)
    order, novelty = q.order, q.novelty
    assert set(order[:1]) <= {4, 5} and novelty[0] == pytest.approx(1.0)
    # without the labelled set the new kind has no special claim
    order0 = queue_order(scores, emb, weight=0.0).order
    assert order0[0] == 2


def test_standardize_and_edge_cases():
    pool, ref = standardize(np.array([[1.0, 100.0], [3.0, 300.0]]), np.array([[2.0, 200.0]]))
    assert np.allclose(pool, [[-np.sqrt(1.5), -np.sqrt(1.5)], [np.sqrt(1.5), np.sqrt(1.5)]])
    assert np.allclose(ref, 0)
    q = queue_order(np.zeros(0), np.zeros((0, 3)))
    assert all(len(a) == 0 for a in q)
    same = queue_order(np.ones(3), np.ones((3, 2)))[0]  # constant scores and embeddings
    assert list(same) == [0, 1, 2]


def test_class_gain_favours_classes_the_labelled_set_lacks():
    counts = np.array([30.0, 1.0, 0.0])  # labelled objects: many of class 0, one of 1, no 2
    mass = np.array([[0, 0, 1.0], [0, 0, 0.9], [0, 1.0, 0], [3.0, 0, 0]])
    g = class_gain(mass, counts)
    assert g[0] == pytest.approx(np.log(2)) and g[0] > g[1] > g[2] > g[3] > 0
    emb = np.zeros((4, 2))  # alike, equally uncertain: only the class gain orders them
    q = queue_order(np.ones(4), emb, mass=mass, counts=counts, rarity=1.0)
    # once image 0 is queued, its class is no longer missing: image 1 (same class) gains
    # log(2.9 / 2) < image 2's log(3 / 2), so image 2 comes second
    assert list(q.order[:3]) == [0, 2, 1]
    assert q.gain[0] == pytest.approx(1.0) and (np.diff(q.priority) <= 1e-12).all()
    plain = queue_order(np.ones(4), emb)[0]
    assert list(queue_order(np.ones(4), emb, mass=mass, counts=counts).order) == list(plain)
    with pytest.raises(ValueError, match="mass"):
        queue_order(np.ones(4), emb, mass=mass[:, :2], counts=counts, rarity=1.0)


def test_density_prefers_uncertain_images_that_stand_for_many():
    rng = np.random.default_rng(2)
    cluster = rng.normal(0, 0.05, (6, 3))  # six look-alikes the model is fairly unsure of
    outliers = rng.normal(0, 4.0, (3, 3)) + 10.0  # three scattered images it is most unsure of
    emb = np.vstack([cluster, outliers])
    scores = np.array([0.6] * 6 + [1.0] * 3)
    rep = representativeness(standardize(emb)[0], neighbours=3)  # as queue_order measures it
    assert rep[:6].min() > 5 * rep[6:].max()
    plain = queue_order(scores, emb, weight=0.0)
    assert set(plain.order[:3]) == {6, 7, 8}  # uncertainty alone: the outliers first
    dense = queue_order(scores, emb, weight=0.0, density=1.0, neighbours=3)
    assert dense.order[0] < 6 and dense.density[0] == pytest.approx(rep[dense.order[0]])
    # with novelty the second place goes elsewhere than the first image's look-alikes
    mixed = queue_order(scores, emb, weight=1.0, density=1.0, neighbours=3)
    assert mixed.order[0] < 6 <= mixed.order[1]
    assert np.allclose(representativeness(emb[:1]), 1.0)
    with pytest.raises(ValueError, match="density"):
        queue_order(scores, emb, density=-1.0)


def test_copies_of_an_image_neither_raise_its_density_nor_come_next():
    rng = np.random.default_rng(3)
    distinct = rng.normal(0, 1, (6, 4))
    emb = np.vstack([distinct, distinct[[0, 0]]])  # images 6 and 7: image 0 twice more
    scores = np.array([1.0, 0.9, 0.95, 0.85, 0.8, 0.9, 1.0, 1.0])
    rep = representativeness(standardize(emb)[0], neighbours=3)
    alone = representativeness(standardize(distinct)[0], neighbours=3)
    assert rep[0] == pytest.approx(rep[6]) and rep[0] < 2 * alone[0]  # no support from copies
    q = queue_order(scores, emb, weight=0.25, density=1.0, neighbours=3)
    assert len(set(q.order[:6]) & {0, 6, 7}) == 1  # one of the three, the others last
    assert set(q.order[-2:]) < {0, 6, 7}
    assert (q.priority[-2:] == 0).all() and (np.diff(q.priority) <= 1e-12).all()
    labelled = queue_order(scores[:6], distinct, reference=distinct[:1], weight=0.25)
    assert labelled.order[-1] == 0 and labelled.priority[-1] == 0  # already labelled


def test_copies_are_found_when_most_of_the_pool_is_one_image():
    rng = np.random.default_rng(4)
    one = rng.normal(0, 1, (1, 6))
    emb = np.vstack([np.repeat(one, 12, axis=0), rng.normal(0, 1, (3, 6))])
    emb[1:12] += rng.normal(0, 1e-7, (11, 6))  # rounding noise, as features of one file give
    q = queue_order(np.ones(15), emb, weight=0.25)
    assert len(set(q.order[:4]) & set(range(12))) == 1  # one copy, then the three others
    assert (q.priority[4:] == 0).all()


def test_a_field_imaged_again_and_again_does_not_take_the_first_places():
    """Six re-imaged copies of one field (features 1 % of the pool's spacing apart) made that
    field the most representative image (density 10) and filled the first six places."""
    rng = np.random.default_rng(5)
    fields = rng.normal(0, 1, (14, 8))
    copies = fields[:1] + rng.normal(0, 0.01, (6, 8))
    emb = np.vstack([fields[1:], copies])  # 13 other fields, then the field six times
    scores = np.r_[rng.uniform(0.9, 1.9, 13), np.full(6, 1.8)]
    q = queue_order(scores, emb, weight=0.25, density=1.0)
    assert len(set(q.order[:6]) & set(range(13, 19))) <= 1
    assert q.density[np.isin(q.order, range(13, 19))].max() < 2.0
