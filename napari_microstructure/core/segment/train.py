"""Train a U-Net from annotated image/mask pairs on the CPU, with progress and early stopping."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..image_utils import MEMORY_SHARE, memory_budget
from ..progress import Progress
from .augment import IGNORE, Augment
from .data import (
    Pair,
    check_annotated,
    class_names,
    n_classes_in,
    pairs_pixel_size,
    split_pairs,
    unannotated_note,
    untaught_classes,
    with_channels,
)
from .feed import batches, one_cycle
from .metrics import iou_per_class, pixel_f1
from .model import TASKS, SegModel, as_model, load_matching, new_model
from .tiling import predict_tiles
from .unet import prefer_channels_last

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Training settings; the defaults train a 16-channel U-Net in a few minutes on a CPU."""

    task: str = "phases"
    classes: list[str] | None = None  # names; default "class 0", "class 1", ...
    epochs: int = 30
    steps_per_epoch: int = 20
    batch_size: int = 8
    crop: int = 128
    lr: float = 3e-3
    base: int = 16
    depth: int = 4
    val_fraction: float = 0.2
    patience: int = 8  # epochs without validation improvement before stopping (2+ images)
    seed: int = 0
    pixel_size: float | None = None  # µm/px of the training images, stored in the model
    augment: bool = True
    scale: tuple[float, float] = (0.7, 1.4)  # random zoom of the crops (1, 1): none
    dice_weight: float = 1.0
    boundary_weight: float = 2.0  # extra cross-entropy weight of the boundary class
    # phases: share of crops standardised as if the classes covered other shares of the image,
    # so the predicted phase fractions do not follow the training images' (augment.Augment)
    composition: float = 0.5
    device: str = "cpu"  # torch device of the training steps ("cuda" where a GPU is there)
    workers: int = 0  # threads drawing the next batches while a step runs (0: drawn in turn)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        if self.epochs < 1 or self.steps_per_epoch < 1 or self.batch_size < 1:
            raise ValueError("epochs, steps per epoch and batch size must be at least 1")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(
                f"the validation fraction must be at least 0 and below 1, got {self.val_fraction}"
            )
        if self.task == "boundaries" and self.classes and len(self.classes) != 2:
            raise ValueError(
                f"a boundaries model has two classes (interior, boundary), not "
                f"{len(self.classes)}: {', '.join(self.classes)}"
            )
        if self.seed < 0:
            raise ValueError(f"the seed must be 0 or more, got {self.seed}")
        if self.workers < 0:
            raise ValueError("workers must be 0 or more")
        if self.crop < 16:
            raise ValueError("crop must be at least 16 pixels")
        if self.crop < 2**self.depth:  # each of the depth levels halves the crop
            raise ValueError(
                f"a crop of {self.crop} px is too small for a depth of {self.depth}: it must be "
                f"at least 2**depth = {2**self.depth} px"
            )
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale range {self.scale} must be positive and increasing")
        try:
            kind = torch.device(self.device).type
        except RuntimeError as exc:
            raise ValueError(f"unknown torch device {self.device!r}") from exc
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r}: no CUDA GPU is available here")


def standardise(chw: np.ndarray) -> np.ndarray:
    """Whole-image standardisation, as :func:`tiling.prepare_input` does at prediction."""
    std = float(chw.std())
    return ((chw - float(chw.mean())) / (std if std > 1e-6 else 1.0)).astype(np.float32)


def _loss(logits: torch.Tensor, target: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    n = logits.shape[1]
    weight = None
    if cfg.task == "boundaries":
        weight = torch.ones(n, device=logits.device)
        weight[-1] = cfg.boundary_weight
    loss = F.cross_entropy(logits, target, weight=weight, ignore_index=IGNORE)
    if cfg.dice_weight > 0:
        valid = (target != IGNORE).unsqueeze(1).float()
        probs = torch.softmax(logits, 1) * valid
        onehot = F.one_hot(target.clamp(max=n - 1), n).permute(0, 3, 1, 2).float() * valid
        inter = (probs * onehot).sum((0, 2, 3))
        denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
        dice = (2 * inter + 1.0) / (denom + 1.0)
        present = onehot.sum((0, 2, 3)) > 0
        classes = dice[1:][present[1:]] if n > 1 else dice
        if classes.numel():
            loss = loss + cfg.dice_weight * (1 - classes.mean())
    return loss


def evaluate(net, pairs: list[Pair], task: str) -> dict:
    """Validation score of a network on whole images: mean IoU of the classes annotated in
    them, or pixel F1 of the boundary class over their annotated pixels; NaN when they hold
    nothing to score."""
    if not pairs:
        return {}
    preds = []
    for p in pairs:
        probs = _drain(predict_tiles(net, standardise(p.image), tile=256, overlap=32))
        preds.append(probs.argmax(0))
    if task == "boundaries":
        # pooled over the images, as the phases' IoU; pixels not annotated count for neither
        # class. Without an annotated line pixel there is nothing to score: NaN, not the 1.0
        # of "no line predicted, none drawn", so training keeps the lowest loss instead
        known = [p.mask != IGNORE for p in pairs]
        pred = np.concatenate([q[k] == 1 for q, k in zip(preds, known, strict=True)])
        truth = np.concatenate([p.mask[k] == 1 for p, k in zip(pairs, known, strict=True)])
        f1 = pixel_f1(pred, truth) if truth.any() else math.nan
        return {"score": f1, "boundary_f1": f1}
    n = net.n_classes
    pred = np.concatenate([q.ravel() for q in preds])
    truth = np.concatenate([p.mask.ravel() for p in pairs])
    # a class without an annotated pixel here (class 0 of a mask of 1, 2, ...) has no score:
    # NaN, left out of the mean, not the 0 its predicted pixels would give it
    annotated = np.bincount(truth[truth != IGNORE], minlength=n)[:n] > 0
    ious = np.where(annotated, iou_per_class(pred, truth, n), np.nan).tolist()
    scored = [v for v in ious if math.isfinite(v)]
    mean = float(np.mean(scored)) if scored else math.nan
    return {"score": mean, "iou": ious, "mean_iou": mean}


def _drain(gen):
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


#: peak bytes of a CPU training step per crop pixel and base channel (96 measured at depth 4)
STEP_BYTES = 100


def _check_memory(pairs: list[Pair], val_pairs: list[Pair], n: int, cfg: TrainConfig) -> None:
    """Refuse training images too large to hold with the validation's whole-image prediction
    (about 16 bytes a pixel per class, as :func:`predict.predict_probabilities`), or with a
    CPU training step on ``cfg``'s batch of crops (:data:`STEP_BYTES`)."""
    held = sum(p.image.nbytes + p.mask.nbytes for p in pairs)
    peak = held + max((p.mask.size for p in val_pairs), default=0) * 16 * (n + 1)
    if peak > memory_budget():
        raise ValueError(
            f"the training images hold {sum(p.mask.size for p in pairs) / 1e6:.0f} Mpx and "
            f"would need about {peak / 2**30:.1f} GiB of memory with their validation, more "
            f"than {MEMORY_SHARE:.0%} of this machine's memory; train on crops of them instead"
        )
    step = held + cfg.batch_size * cfg.crop**2 * cfg.base * STEP_BYTES
    if torch.device(cfg.device).type == "cpu" and step > memory_budget():  # a GPU's: on it
        raise ValueError(
            f"training steps on {cfg.batch_size} crops of {cfg.crop} px (base {cfg.base}) would "
            f"need about {step / 2**30:.1f} GiB of memory, more than {MEMORY_SHARE:.0%} of this "
            "machine's memory; use a smaller crop or batch"
        )


def fine_tune_settings(cfg: TrainConfig, init: SegModel, pairs: list[Pair]) -> TrainConfig:
    """Settings to fine-tune ``init`` on ``pairs``: its network size, its class names (extended
    by new classes in the masks) unless ``cfg`` names them, and its pixel size when neither
    ``cfg`` nor the images give one.

    Raises
    ------
    ValueError : ``init`` segments another task.
    """
    if init.task != cfg.task:
        raise ValueError(f"the start model segments {init.task}, not {cfg.task}")
    classes = cfg.classes
    if not classes:
        n = 2 if cfg.task == "boundaries" else n_classes_in(pairs)
        classes = class_names(init.classes, n)
    pixel_size = cfg.pixel_size or pairs_pixel_size(pairs) or init.pixel_size
    return replace(
        cfg, base=init.net.base, depth=init.net.depth, classes=classes, pixel_size=pixel_size
    )


def train_model(
    pairs: list[Pair],
    config: TrainConfig,
    val_pairs: list[Pair] | None = None,
    init: SegModel | str | Path | None = None,
    training_data: list[str] | None = None,
) -> Generator[Progress, None, SegModel]:
    """Train a U-Net (a progress generator; closing it stops training after the current step).

    Parameters
    ----------
    pairs : annotated images (see :func:`data.make_pair`).
    val_pairs : held-out images; None = ``config.val_fraction`` of ``pairs`` (split by image,
        or one image split in two halves).
    init : start from this model's weights (fine-tuning, or after synthetic pretraining).
    training_data : names stored in the model file (default: the pairs' names).

    Returns the model at the epoch with the best validation score.
    """
    if not pairs:
        raise ValueError("no annotated images to train on")
    check_annotated(pairs + (val_pairs or []), config.task)
    note = unannotated_note(pairs + (val_pairs or []), config.task)
    if note:
        log.warning(note)
    cfg = config
    side = max(min(p.mask.shape) for p in pairs)
    if cfg.crop > side:  # every crop is then a whole image enlarged: memory and time for nothing
        log.warning(
            "crop of %d px larger than every training image: use %d or less", cfg.crop, side
        )
    torch.manual_seed(cfg.seed)
    patience = cfg.patience
    if val_pairs is None:
        if len(pairs) == 1:
            # a strip of one image is too noisy to stop on (superalloy, 8 seeds each: precipitate
            # IoU mean 0.816, worst 0.752 with patience 8; 0.821, 0.795 without); best epoch kept
            patience = cfg.epochs
            log.info("one training image: no early stopping")
        pairs, val_pairs = split_pairs(pairs, cfg.val_fraction, cfg.seed, cfg.task)
    if init is not None:  # its first layer takes its channels: grey repeated, or colour grey
        init = as_model(init)
        pairs, val_pairs = (with_channels(p, init.in_channels) for p in (pairs, val_pairs))
    in_ch = pairs[0].image.shape[0]
    n_cls = 2 if cfg.task == "boundaries" else n_classes_in(pairs + val_pairs)
    _check_memory(pairs + val_pairs, val_pairs, n_cls, cfg)
    if cfg.classes:
        if len(cfg.classes) < n_cls:
            raise ValueError(f"{len(cfg.classes)} class names for masks with {n_cls} classes")
        names = list(cfg.classes)
    elif cfg.task == "boundaries":
        names = ["interior", "boundary"]
    else:
        names = class_names(None, n_cls)
    pixel_size = cfg.pixel_size or pairs_pixel_size(pairs)
    model = new_model(cfg.task, names, in_ch, cfg.base, cfg.depth, pixel_size)
    model.untaught = untaught_classes(pairs + val_pairs, cfg.task)
    if init is not None:
        n = load_matching(model.net, init.net.state_dict())
        log.info("started from %s (%d tensors)", init.path or "model", n)
        if init.n_classes == model.n_classes:  # its outputs kept: what it was taught, too
            model.untaught = [k for k in model.untaught if k in init.untaught]
    fast = prefer_channels_last(torch.device(cfg.device))
    layout = torch.channels_last if fast else torch.contiguous_format
    net = model.net.to(cfg.device, memory_format=layout)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    total_steps = cfg.epochs * cfg.steps_per_epoch
    # boundaries are colour changes whatever the colours: shuffle channels of colour images
    aug = Augment(
        enabled=cfg.augment,
        scale=tuple(cfg.scale),
        shuffle_channels=0.5 if cfg.task == "boundaries" else 0.0,
        composition=cfg.composition if cfg.task == "phases" else 0.0,
    )
    source = batches([p.as_tuple() for p in pairs], cfg, aug, total_steps)
    best_score, best_state, best_epoch, stale = -math.inf, None, 0, 0
    history: list[dict] = []
    last_val = ""  # the last validation score, carried in every step's message
    start = time.perf_counter()
    try:
        for epoch in range(1, cfg.epochs + 1):
            net.train()
            losses = []
            for step in range(cfg.steps_per_epoch):
                x, y = next(source)
                x, y = x.to(cfg.device).contiguous(memory_format=layout), y.to(cfg.device)
                done = (epoch - 1) * cfg.steps_per_epoch + step + 1
                for group in opt.param_groups:
                    group["lr"] = one_cycle(done - 1, total_steps, cfg.lr)
                opt.zero_grad()
                loss = _loss(net(x), y, cfg)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                msg = f"epoch {epoch}/{cfg.epochs}: loss {losses[-1]:.3f}{last_val}"
                yield Progress(done, total_steps, msg)
            net.eval()
            val = evaluate(net, val_pairs, cfg.task)
            score = val.get("score", math.nan)
            msg = f"epoch {epoch}/{cfg.epochs}: mean loss {np.mean(losses):.3f}"
            if math.isfinite(score):
                msg += f", validation {score:.3f}"
                last_val = f" (validation {score:.3f})"
            else:  # no validation: the lowest training loss is best
                score = -float(np.mean(losses))
            history.append({"epoch": epoch, "loss": float(np.mean(losses)), **val})
            log.info(msg)
            yield Progress(epoch * cfg.steps_per_epoch, total_steps, msg)
            if score > best_score + 1e-4:
                best_score, best_epoch, stale = score, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    log.info("early stop after epoch %d (best %d)", epoch, best_epoch)
                    break
    finally:
        source.close()  # stops the threads drawing ahead (early stop, or training closed)
    net.cpu().to(memory_format=torch.contiguous_format)  # models are saved and used on the CPU
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    best = next((h for h in history if h["epoch"] == best_epoch), history[-1])
    model.metrics = {
        "validation": {k: v for k, v in best.items() if k not in ("epoch", "loss", "score")},
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "n_train_images": len(pairs),
        "n_val_images": len(val_pairs),
        "val_images": list(dict.fromkeys(p.name for p in val_pairs)),
        "seconds": round(time.perf_counter() - start, 1),
        "history": history,
    }
    model.config = {k: v for k, v in asdict(cfg).items() if k != "classes"}
    if init is not None and init.path is not None:
        model.config["init"] = str(init.path)
    model.training_data = list(training_data or [p.name for p in pairs])
    return model
