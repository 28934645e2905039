"""Train a classifier from labelled micrographs: a generator yielding Progress (cancellable)."""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..progress import Progress, rescaled
from .augment import augment, jitter_pixel_size
from .crops import ZOOM_RANGE, cut, effective_pixel_size, prepare_image, sample_windows
from .dataset import Sample, sample_notes
from .density import ClassDensity
from .model import NONE_OF_THESE, Classifier, name_key
from .network import CropNet, supcon_loss


@dataclass
class TrainConfig:
    """Training settings; the defaults suit 6-8 classes of about 30 images each."""

    crop_size: int = 64
    steps: int = 600
    batch_size: int = 48
    lr: float = 3e-3
    width: int = 16
    emb_dim: int = 64
    supcon_weight: float = 0.5
    augment_strength: float = 1.0
    calib_fraction: float = 0.3
    novelty_quantile: float = 0.97
    image_novelty_quantile: float = 0.99
    density_crops: int = 48
    calib_folds: int = 3
    calib_repeats: int = 10
    zoom_range: tuple[float, float] = ZOOM_RANGE
    seed: int = 0


def _split(labels: np.ndarray, frac: float, rng: np.random.Generator) -> tuple[list, list]:
    """Per class, hold out ``frac`` of the images (none when a class has fewer than 3)."""
    train, calib = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_cal = int(round(frac * len(idx))) if len(idx) >= 3 else 0
        calib += idx[:n_cal].tolist()
        train += idx[n_cal:].tolist()
    return sorted(train), sorted(calib)


def _crops_of(
    images: list[torch.Tensor],
    pixel_sizes: np.ndarray,
    which: np.ndarray,
    cfg: TrainConfig,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random crop from each image index in ``which``."""
    xs, ps = [], []
    for i in which:
        win = sample_windows(tuple(images[i].shape), 1, cfg.crop_size, rng, cfg.zoom_range)
        xs.append(cut(images[i], win, cfg.crop_size))
        ps.append(effective_pixel_size(float(pixel_sizes[i]), win, cfg.crop_size))
    return torch.cat(xs), torch.cat(ps)


@torch.no_grad()
def _embed(
    net: CropNet,
    images: list[torch.Tensor],
    pixel_sizes: np.ndarray,
    idx: Sequence[int],
    n_crops: int,
    cfg: TrainConfig,
    rng: np.random.Generator,
    strength: float,
) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Embeddings, logits and image index of ``n_crops`` augmented crops of each image
    (yields a Progress per image)."""
    embs, logits, owner = [], [], []
    for n, i in enumerate(idx):
        x, ps = _crops_of(images, pixel_sizes, np.full(n_crops, i), cfg, rng)
        x = augment(x, rng, strength)
        lo, emb = net(x, ps)
        embs.append(emb.numpy())
        logits.append(lo.numpy())
        owner.append(np.full(n_crops, i))
        yield Progress(
            n + 1, len(idx), f"embedding crops for the class densities: image {n + 1}/{len(idx)}"
        )
    return np.concatenate(embs), np.concatenate(logits), np.concatenate(owner)


def _config_record(cfg: TrainConfig) -> dict:
    """The settings as stored in a model's info (tuples as lists, as JSON has them)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()}


def _prepare(
    samples: Sequence[Sample], cfg: TrainConfig
) -> tuple[list[str], np.ndarray, np.ndarray, list[torch.Tensor]]:
    """Checked class names, class index, pixel size and grey tensor of every sample."""
    classes = sorted({s.label for s in samples})
    if len(classes) < 2:
        got = ", ".join(classes) if classes else "none"
        raise ValueError(f"need images of at least two classes to train, got only: {got}")
    reserved = [c for c in classes if name_key(c) == NONE_OF_THESE]
    if reserved:
        raise ValueError(
            f"a class cannot be named {reserved[0]!r}: {NONE_OF_THESE} is the answer for "
            "images unlike every class; rename that class folder"
        )
    keys = [name_key(c) for c in classes]
    twins = [c for c, k in zip(classes, keys, strict=True) if keys.count(k) > 1]
    if twins:  # one class was meant, two would be trained
        raise ValueError(
            f"classes {', '.join(map(repr, twins))} differ only in case, spaces or "
            "underscores; give them one name (or remove the example added under the other)"
        )
    for s in samples:
        if not s.pixel_size or s.pixel_size <= 0:
            raise ValueError(f"image {s.name or s.label!r} has no valid pixel size")
    labels = np.array([classes.index(s.label) for s in samples])
    pixel_sizes = np.array([s.pixel_size for s in samples], dtype=np.float64)
    images = [prepare_image(s.image) for s in samples]
    small = [
        s.name or s.label
        for s, im in zip(samples, images, strict=True)
        if min(im.shape) < cfg.crop_size // 2
    ]
    if small:
        raise ValueError(f"images smaller than half the crop size ({cfg.crop_size} px): {small}")
    return classes, labels, pixel_sizes, images


def calibration_steps(n_images: int, cfg: TrainConfig) -> int:
    """Progress steps of the calibration: one per image embedded and per fold fitted."""
    return n_images + cfg.calib_repeats * cfg.calib_folds


def _calibrate(
    net: CropNet,
    classes: list[str],
    images: list[torch.Tensor],
    labels: np.ndarray,
    pixel_sizes: np.ndarray,
    calib_idx: list[int],
    cfg: TrainConfig,
) -> Generator[Progress, None, tuple[ClassDensity, dict]]:
    """Class densities and "none of these" thresholds for a trained network, plus a record
    (with ``warnings`` for the user). Yields a Progress per image embedded and per fold
    fitted (:func:`calibration_steps` in all), so Cancel stops it.

    Draws from its own random stream (not the training one), so a saved network calibrates
    the same way again (:func:`recalibrate`).
    """
    rng = np.random.default_rng([cfg.seed, 1])
    # un-augmented random crops, as at prediction time, of every image (the images held out
    # of network training included: they show how new images of a class fall)
    every = list(range(len(images)))
    n_emb, total = len(every), calibration_steps(len(every), cfg)
    emb, logits, owner = yield from rescaled(
        _embed(net, images, pixel_sizes, every, cfg.density_crops, cfg, rng, 0.0), 0, n_emb, total
    )
    density, calib = yield from rescaled(
        ClassDensity.cross_fit(
            emb,
            owner,
            labels,
            int(net.head.out_features),
            cfg.calib_folds,
            cfg.novelty_quantile,
            cfg.image_novelty_quantile,
            rng,
            cfg.calib_repeats,
        ),
        n_emb,
        total,
        total,
    )
    held = np.isin(owner, calib_idx) if calib_idx else np.ones(len(owner), bool)
    calib["calibration_crop_accuracy"] = float(
        np.mean(logits[held].argmax(1) == labels[owner[held]])
    )
    calib["crop_accuracy_on_training_images"] = not calib_idx
    alone = [classes[k] for k in calib.pop("calibration_in_sample_classes")]
    calib["calibration_in_sample_classes"] = alone
    calib["warnings"] = (
        [
            f"'none of these' of {', '.join(alone)} is calibrated on the image(s) it was "
            "fitted on (one image per class cannot be held out), so new images of it are "
            "called none of these too readily: add more images of it"
        ]
        if alone
        else []
    )
    if not calib_idx:
        calib["warnings"].append(
            "no image could be held out (a class needs 3 or more): the calibration crop "
            "accuracy is measured on the training images themselves and overstates it"
        )
    return density, calib


def train_classifier(
    samples: Sequence[Sample], config: TrainConfig | None = None
) -> Generator[Progress, None, Classifier]:
    """Train a crop classifier with a "none of these" density model.

    Parameters
    ----------
    samples
        Labelled images with their pixel sizes (at least two classes).
    config
        Training settings (seeded: the same samples and config give the same model).

    Yields
    ------
    Progress
        One per training step, then one per image embedded and per calibration fold.

    Notes
    -----
    The network trains on ``1 - calib_fraction`` of each class's images; the class densities
    are fitted on crops of all images, and "none of these" is calibrated on out-of-fold
    scores (see :meth:`ClassDensity.cross_fit`).

    Returns
    -------
    Classifier
    """
    cfg = config or TrainConfig()
    t0 = time.perf_counter()
    classes, labels, pixel_sizes, images = _prepare(samples, cfg)
    rng = np.random.default_rng(cfg.seed)
    train_idx, calib_idx = _split(labels, cfg.calib_fraction, rng)

    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        net = CropNet(len(classes), width=cfg.width, emb_dim=cfg.emb_dim)
    zoom = np.exp(rng.uniform(*np.log(cfg.zoom_range), size=4096))
    log_eff = np.log(pixel_sizes[rng.choice(train_idx, 4096)] * zoom)
    net.ps_mean.fill_(float(log_eff.mean()))
    net.ps_std.fill_(float(max(log_eff.std(), 0.1)))

    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)
    by_class = [np.array([i for i in train_idx if labels[i] == k]) for k in range(len(classes))]
    by_class = [b for b in by_class if len(b)]
    net.train()
    loss_avg = 0.0
    cal = calibration_steps(len(images), cfg)
    for step in range(cfg.steps):
        cls_pick = rng.integers(len(by_class), size=cfg.batch_size)
        which = np.array([rng.choice(by_class[k]) for k in cls_pick])
        x, ps = _crops_of(images, pixel_sizes, which, cfg, rng)
        x = augment(x, rng, cfg.augment_strength)
        ps = jitter_pixel_size(ps, rng)
        y = torch.as_tensor(labels[which])
        logits, emb = net(x, ps)
        loss = F.cross_entropy(logits, y, label_smoothing=0.05)
        if cfg.supcon_weight > 0:
            loss = loss + cfg.supcon_weight * supcon_loss(emb, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        loss_val = float(loss.detach())
        loss_avg = 0.9 * loss_avg + 0.1 * loss_val if step else loss_val
        yield Progress(
            step + 1,
            cfg.steps + cal,
            f"training: step {step + 1}/{cfg.steps}, loss {loss_avg:.3f}",
        )
    net.eval()
    train_seconds = time.perf_counter() - t0

    density, calib = yield from rescaled(
        _calibrate(net, classes, images, labels, pixel_sizes, calib_idx, cfg),
        cfg.steps,
        cfg.steps + cal,
        cfg.steps + cal,
    )
    calib["warnings"] = sample_notes(samples) + calib["warnings"]  # e.g. a calibration refused
    info = {
        "config": _config_record(cfg),
        "images_per_class": {c: int(np.sum(labels == k)) for k, c in enumerate(classes)},
        "n_train_images": len(train_idx),
        "n_calibration_images": len(calib_idx),
        **calib,
        "train_seconds": train_seconds,
        "total_seconds": time.perf_counter() - t0,
        "final_loss": loss_avg,
    }
    return Classifier(
        net=net,
        classes=classes,
        crop_size=cfg.crop_size,
        zoom_range=tuple(cfg.zoom_range),
        train_pixel_sizes=pixel_sizes.tolist(),
        density=density,
        info=info,
    )


def recalibrate(
    model: Classifier, samples: Sequence[Sample], config: TrainConfig
) -> Generator[Progress, None, Classifier]:
    """Fit the class densities and "none of these" thresholds of a trained ``model`` again.

    ``samples`` and ``config`` must be those it was trained with (the seed fixes which images
    were held out of network training). The network is kept as it is, so a saved model can be
    re-calibrated with the current rule without training it again; the result equals what
    :func:`train_classifier` gives with the same samples and config.
    """
    classes, labels, pixel_sizes, images = _prepare(samples, config)
    if classes != list(model.classes):
        raise ValueError(f"samples have classes {classes}, the model {list(model.classes)}")
    _, calib_idx = _split(labels, config.calib_fraction, np.random.default_rng(config.seed))
    density, calib = yield from _calibrate(
        model.net, classes, images, labels, pixel_sizes, calib_idx, config
    )
    calib["warnings"] = sample_notes(samples) + calib["warnings"]
    info = {**model.info, **calib, "config": _config_record(config)}
    return replace(model, density=density, info=info, path=None)
