"""Active learning vs random selection at equal labelling cost, on synthetic defect micrographs.

Declared design: the labelled start set is narrow, the unlabelled pool is heterogeneous.

- *base* images: bright-field, polished matrix, no cracks. The labelled set is only these.
- the pool and the test set mix base images (half) with three kinds the labelled set lacks:
  *dark* (inverted contrast, as in dark-field), *faint* (a third of the contrast, strong noise)
  and *cracks* (bright-field with a crack, rarely two: ``core.curate.domains`` redraws a field
  until a crack fits), a sixth each. 128 px fields at 0.5 µm/px.

Per seed:

1. the start model: ``--start demo`` (default) the shipped demo detector, trained by this
   project on bright-field synthetic defects (on this test set its crack AP50 is 0.091; it
   never saw the dark or faint contrast); ``--start scratch`` a YOLOv8 layout at width 0.125
   trained from scratch on the ``--n-init`` base images;
2. the queue (``core.curate.active.rank_images`` with the start model, the ``--n-init``
   labelled base images as reference and, for ``--rarity`` > 0, their true class counts for
   the class gain) orders the pool; the ``--n-add`` first images get their exact labels
   (= perfectly corrected); one queue arm per ``--rarity`` value;
3. the start model is fine-tuned on the labelled + queued images and, separately, on the
   labelled + as many pool images drawn at random from the same pool (``--random-draws``
   draws), with the same epochs and settings (AdamW, no warm-up, final weights kept);
4. all are evaluated (mAP50, mAP50-95 and AP50 per class) on held-out test images drawn from
   the pool's mixture (seeds used nowhere else).

The start model's and the random arm's results do not depend on the queue rule: with
``--cache DIR`` they are stored per seed under a hash of the images, labels and settings, and a
later run with another queue rule retrains only the queue arms.

Everything is seeded. Run on CPU with::

    nice -n 10 python benchmarks/bench_active_learning.py --seeds 0 1 2 --rarity 0 2 \\
        --cache /tmp/al-cache

It prints one line per random draw and per seed and queue arm, and the means over seeds.
Measured with the default queue rule (96-image test set; docs/curate.md): from the demo
detector, over seeds 0-11 and 30-41, mean mAP50 start 0.497, random 0.530, queue 0.561 (above
the random mean on 21 of 24 seeds), mAP50-95 0.338, 0.342, 0.353 (22 of 24); from scratch
(``--start scratch``), over seeds 0-15, mAP50 0.154, 0.203, 0.217 (14 of 16), mAP50-95 0.100,
0.138, 0.141 (11 of 16).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _al_report import report, summarize

import napari_microstructure  # noqa: F401  (offline ultralytics, before it is imported)
from napari_microstructure.cli.rank import signal_weight
from napari_microstructure.core.curate.active import rank_images
from napari_microstructure.core.curate.domains import domain_item
from napari_microstructure.core.curate.items import ExportItem
from napari_microstructure.core.curate.select import DENSITY
from napari_microstructure.core.curate.train import TrainJob
from napari_microstructure.core.curate.yolo import save_image, write_data_yaml, yolo_box_lines
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.yolo_env import import_ultralytics

CLASSES = ["inclusion", "pore", "crack", "precipitate"]
INIT, POOL, VAL, TEST = 0, 10_000, 50_000, 90_000  # seed offsets of the image sets
NOVEL = ("dark", "faint", "cracks")


def mixture(n: int) -> list[str]:
    """Domains of an ``n``-image mixed set: half base, the rest split over the novel kinds."""
    return ["base" if i % 2 == 0 else NOVEL[(i // 2) % len(NOVEL)] for i in range(n)]


def make_set(offset: int, domains: list[str], size: int, pixel_size: float) -> list[ExportItem]:
    return [domain_item(offset + i, d, size, pixel_size, CLASSES) for i, d in enumerate(domains)]


def write_split(root: Path, split: str, items: list[ExportItem]) -> None:
    for it in items:
        save_image(root / "images" / split / f"{it.name}.png", it.image)
        lab = root / "labels" / split / f"{it.name}.txt"
        lab.parent.mkdir(parents=True, exist_ok=True)
        lab.write_text("\n".join(yolo_box_lines(it)) + "\n")


def dataset(root: Path, train: list[ExportItem], val: list[ExportItem]) -> Path:
    write_split(root, "train", train)
    write_split(root, "val", val)
    return Path(write_data_yaml(root, CLASSES))


def fit(data: Path, out: Path, args, base: Path | None, epochs: int, model: str) -> Path:
    job = TrainJob(
        data,
        out,
        task="detect",
        epochs=epochs,
        imgsz=args.imgsz,
        base=base,
        batch=args.batch,
        seed=args.train_seed,
        pixel_size=args.pixel_size,
        device="cpu",
        patience=epochs,
        model_yaml=model,
        val=False,  # ultralytics still validates the final weights on the val split
        # the installed ultralytics warms up for min(warmup_epochs, epochs - 1) epochs: 3 of a
        # short fine-tune's epochs by default; the benchmark trains every model without it
        warmup_epochs=args.warmup,
        optimizer="AdamW",
        lr0=args.lr0,
        # the gradients of 64 images per update, as every figure in docs/curate.md was
        # measured (Retrain now updates after every batch: FINE_TUNE in core/curate/train.py)
        nbs=64,
    )
    return run_to_end(job.run()).weights


def evaluate(weights: Path, test_yaml: Path, imgsz: int) -> tuple[float, float, dict]:
    import_ultralytics()
    from ultralytics import YOLO

    m = YOLO(str(weights)).val(
        data=str(test_yaml),
        imgsz=imgsz,
        batch=8,
        plots=False,
        verbose=False,
        device="cpu",
        workers=0,
    )
    ap50 = {
        CLASSES[int(c)]: round(float(a), 4)
        for c, a in zip(m.box.ap_class_index, m.box.ap50, strict=True)
    }
    return float(m.box.map50), float(m.box.map), ap50


def data_key(args, sets: list[list[ExportItem]]) -> str:
    """Hash of the images, labels and training settings: what the random arm depends on."""
    h = hashlib.sha1()
    for k in (
        "n_init",
        "n_add",
        "pool",
        "n_val",
        "n_test",
        "size",
        "imgsz",
        "pixel_size",
        "start",
        "epochs",
        "epochs2",
        "batch",
        "lr0",
        "warmup",
        "train_seed",
        "model",
        "width",
        "random_draws",
    ):
        h.update(f"{k}={getattr(args, k)};".encode())
    for items in sets:
        for it in items:
            h.update(it.name.encode() + np.ascontiguousarray(it.image).tobytes())
            h.update(json.dumps(it.boxes, sort_keys=True).encode())
    return h.hexdigest()[:16]


def model_yaml(args, work: Path) -> str:
    """ultralytics' own YOLOv8 layout at ``--width`` (a 't' scale), written to ``work``."""
    if not args.width:
        return args.model
    import yaml
    from ultralytics.utils import ROOT

    cfg = yaml.safe_load((ROOT / "cfg/models/v8/yolov8.yaml").read_text())
    cfg["scales"] = {"t": [0.33, float(args.width), 1024]}
    path = work / "yolov8t.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


def one_seed(seed: int, args, work: Path) -> dict:
    from napari_microstructure.core.detect import load_detector

    t0 = time.time()
    model = model_yaml(args, work)
    rng = np.random.default_rng(seed)
    base = seed * 1000
    ps, size = args.pixel_size, args.size
    init = make_set(INIT + base, ["base"] * args.n_init, size, ps)
    pool = make_set(POOL + base, mixture(args.pool), size, ps)
    val = make_set(VAL + base, ["base"] * args.n_val, size, ps)
    test = make_set(TEST, mixture(args.n_test), size, ps)
    test_yaml = dataset(work / "test", val[:1], test)  # val split = the test images
    if args.start == "demo":  # bright-field start model: the shipped demo detector
        from napari_microstructure.core.detect import DEMO_MODEL

        weak = Path(DEMO_MODEL)
    else:
        weak_data = dataset(work / "weak", init, val)
        weak = fit(weak_data, work / "run_weak", args, None, args.epochs, model)

    def retrain(name: str, added: list[ExportItem]) -> dict:
        data = dataset(work / name, init + added, val)
        pt = fit(data, work / f"run_{name}", args, weak, args.epochs2, model)
        return {
            "map": evaluate(pt, test_yaml, args.imgsz),
            "objects": sum(len(it.boxes) for it in added),
            "novel": sum(not it.name.startswith("base") for it in added),
            "names": [it.name for it in added],
        }

    # the start model and the random arm do not depend on the queue rule: cached per data/settings
    key = data_key(args, [init, pool, val, test])
    cached = args.cache / f"random_s{seed}_{key}.json" if args.cache else None
    if cached is not None and cached.exists():
        res: dict = {"seed": seed, **json.loads(cached.read_text()), "cached": True}
    else:
        res = {"seed": seed, "weak": evaluate(weak, test_yaml, args.imgsz), "random_draws": []}
        for draw in range(args.random_draws):
            chosen = sorted(rng.choice(len(pool), size=args.n_add, replace=False))
            res["random_draws"].append(retrain(f"rnd{draw}", [pool[i] for i in chosen]))
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps({k: res[k] for k in ("weak", "random_draws")}))
    draws = res["random_draws"]
    res["random"] = {"map": tuple(float(np.mean([d["map"][k] for d in draws])) for k in (0, 1))}

    detector = load_detector(weak)
    counts = np.bincount([b["class_id"] for it in init for b in it.boxes], minlength=len(CLASSES))
    res["queues"] = {}
    for rarity in args.rarity:
        ranking = run_to_end(
            rank_images(
                [it.image for it in pool],
                detector,
                pixel_size=ps,
                names=[it.name for it in pool],
                reference=[it.image for it in init],
                diversity=args.diversity,
                class_counts=dict(zip(CLASSES, counts.tolist(), strict=True))
                if rarity > 0
                else None,
                rarity=rarity,
                weights=args.weight,
                density=args.density,
            )
        )
        queued = [pool[i] for i in ranking["index"].to_numpy()[: args.n_add]]
        res["queues"][f"{rarity:g}"] = retrain(f"al{rarity:g}", queued)
    res["active"] = res["queues"][f"{args.rarity[0]:g}"]
    res["seconds"] = round(time.time() - t0, 1)
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's settings from its command line (``--weight`` as a dict or None)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--n-init", type=int, default=16)
    p.add_argument("--n-add", type=int, default=8)
    p.add_argument("--pool", type=int, default=48)
    p.add_argument("--n-val", type=int, default=2)
    p.add_argument("--n-test", type=int, default=96)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--imgsz", type=int, default=128)
    p.add_argument("--pixel-size", type=float, default=0.5)
    p.add_argument(
        "--start",
        choices=("demo", "scratch"),
        default="demo",
        help="start model: the shipped demo detector, or trained from scratch on --n-init images",
    )
    p.add_argument("--epochs", type=int, default=100, help="epochs of a from-scratch start model")
    p.add_argument("--epochs2", type=int, default=60, help="epochs of each retraining")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr0", type=float, default=0.002, help="AdamW learning rate")
    p.add_argument("--warmup", type=float, default=0.0, help="warm-up epochs of every training")
    p.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--model", default="yolov8n.yaml")
    p.add_argument(
        "--width", type=float, default=0.125, help="YOLOv8 layout at this width (0 = --model)"
    )
    p.add_argument("--diversity", type=float, default=0.25, help="queue's diversity weight")
    p.add_argument(
        "--density", type=float, default=DENSITY, help="queue's representativeness exponent"
    )
    p.add_argument(
        "--rarity",
        type=float,
        nargs="+",
        default=[0.0, 2.0],
        help="queue's class-gain weights, one queue arm each (0 = no class counts)",
    )
    p.add_argument(
        "--weight",
        nargs="+",
        type=signal_weight,
        metavar="SIGNAL=W",
        help="queue's signal weights (e.g. ood=0), over core.curate.active.WEIGHTS",
    )
    p.add_argument("--random-draws", type=int, default=3, help="random baselines per seed")
    p.add_argument(
        "--cache", type=Path, help="folder caching the start model's and random arm's results"
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    args.weight = dict(args.weight) if args.weight else None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench-al-") as tmp:
            r = one_seed(seed, args, Path(tmp))
        results.append(r)
        report(r)
    summarize(results)
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args), "results": results}, indent=1, default=str)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
