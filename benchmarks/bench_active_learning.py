"""Active learning vs random selection at equal labelling cost, on synthetic defect micrographs.

Per seed:

1. a *weak* detector (YOLOv8 layout at width 0.125, from scratch) is trained on ``--n-init``
   labelled images;
2. the queue (``core.curate.active.rank_images`` with the weak detector: confidence entropy,
   near-threshold count, low max confidence, flip disagreement) ranks an unlabelled pool; the
   ``--n-add`` top-ranked images get their exact labels (= perfectly corrected);
3. the weak detector is fine-tuned on initial + queued images, and, separately, on initial +
   the same number of *randomly* chosen pool images (``--random-draws`` draws), with the same
   epochs and settings (no per-epoch validation; the final weights are kept);
4. all are evaluated (mAP50 and mAP50-95) on held-out test images (seeds used nowhere else).

Everything is seeded. Run on CPU (about 25 min per seed on 2 busy cores) with::

    nice -n 10 python benchmarks/bench_active_learning.py --seeds 0 1

It prints one line per seed (and per random draw) and the means over seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import napari_microstructure  # noqa: F401  (offline ultralytics, before it is imported)
from napari_microstructure.core.curate.active import rank_images
from napari_microstructure.core.curate.items import ExportItem
from napari_microstructure.core.curate.train import TrainJob, offline_ultralytics
from napari_microstructure.core.curate.yolo import save_image, write_data_yaml, yolo_box_lines
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate

CLASSES = ["inclusion", "pore", "crack", "precipitate"]
POOL, VAL, TEST = 10_000, 50_000, 90_000  # seed offsets of the image sets


def make_items(seeds: range, size: int, pixel_size: float) -> list[ExportItem]:
    """Synthetic "defects" micrographs with their exact boxes as export items."""
    items = []
    for s in seeds:
        m = generate("defects", shape=(size, size), pixel_size=pixel_size, seed=s)
        boxes = [
            dict(zip(("x1", "y1", "x2", "y2"), map(float, o["bbox"]), strict=True))
            | {"class_id": CLASSES.index(o["cls"])}
            for o in m.objects
            if o["cls"] in CLASSES
        ]
        items.append(ExportItem(name=f"s{s}", image=m.image, boxes=boxes, pixel_size=pixel_size))
    return items


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


def fit(data: Path, out: Path, args, base: Path | None, epochs: int) -> Path:
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
        model_yaml=args.model,
        val=False,  # ultralytics still validates the final weights on the val split
    )
    result = run_to_end(job.run())
    return result.weights


def evaluate(weights: Path, test_yaml: Path, imgsz: int) -> tuple[float, float]:
    offline_ultralytics()
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
    return float(m.box.map50), float(m.box.map)


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
    args.model = model_yaml(args, work)
    rng = np.random.default_rng(seed)
    base = seed * 1000
    init = make_items(range(base, base + args.n_init), args.size, args.pixel_size)
    pool = make_items(range(POOL + base, POOL + base + args.pool), args.size, args.pixel_size)
    val = make_items(range(VAL + base, VAL + base + args.n_val), args.size, args.pixel_size)
    test = make_items(range(TEST, TEST + args.n_test), args.size, args.pixel_size)
    test_yaml = dataset(work / "test", val[:1], test)  # val split = the test images
    if args.weak is not None:  # a weak model trained before on the same seed's initial set
        weak = args.weak
    else:
        weak = fit(dataset(work / "weak", init, val), work / "run_weak", args, None, args.epochs)
    weak_map = evaluate(weak, test_yaml, args.imgsz)
    if args.weak_only:
        return {"seed": seed, "weak": weak_map, "seconds": round(time.time() - t0, 1)}

    detector = load_detector(weak)
    ranking = run_to_end(
        rank_images(
            [it.image for it in pool],
            detector,
            pixel_size=args.pixel_size,
            names=[it.name for it in pool],
        )
    )
    queued = [pool[i] for i in ranking["index"].to_numpy()[: args.n_add]]
    al = fit(dataset(work / "al", init + queued, val), work / "run_al", args, weak, args.epochs2)
    res = {
        "seed": seed,
        "weak": weak_map,
        "active": evaluate(al, test_yaml, args.imgsz),
        "objects_active": sum(len(it.boxes) for it in queued),
        "queued": [it.name for it in queued],
        "random_draws": [],
    }
    for draw in range(args.random_draws):
        chosen = rng.choice(len(pool), size=args.n_add, replace=False)
        randoms = [pool[i] for i in sorted(chosen)]
        out = work / f"rnd{draw}"
        rnd = fit(
            dataset(out, init + randoms, val), work / f"run_rnd{draw}", args, weak, args.epochs2
        )
        res["random_draws"].append(
            {
                "map": evaluate(rnd, test_yaml, args.imgsz),
                "objects": sum(len(it.boxes) for it in randoms),
                "names": [it.name for it in randoms],
            }
        )
    draws = res["random_draws"]
    res["random"] = tuple(float(np.mean([d["map"][k] for d in draws])) for k in (0, 1))
    res["objects_random"] = float(np.mean([d["objects"] for d in draws]))
    res["seconds"] = round(time.time() - t0, 1)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--n-init", type=int, default=24)
    p.add_argument("--n-add", type=int, default=8)
    p.add_argument("--pool", type=int, default=32)
    p.add_argument("--n-val", type=int, default=4)
    p.add_argument("--n-test", type=int, default=16)
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--imgsz", type=int, default=192)
    p.add_argument("--pixel-size", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=60, help="epochs of the weak model")
    p.add_argument("--epochs2", type=int, default=25, help="epochs of each retraining")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--model", default="yolov8n.yaml")
    p.add_argument(
        "--width", type=float, default=0.125, help="YOLOv8 layout at this width (0 = --model)"
    )
    p.add_argument("--weak-only", action="store_true", help="calibrate: stop after the weak model")
    p.add_argument("--weak", type=Path, help="reuse this weak model (trained on the seed's set)")
    p.add_argument("--random-draws", type=int, default=2, help="random baselines per seed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench-al-") as tmp:
            r = one_seed(seed, args, Path(tmp))
        results.append(r)
        for d, draw in enumerate(r.get("random_draws", [])):
            print(
                f"seed {seed} random draw {d}: mAP50 {draw['map'][0]:.3f} "
                f"mAP50-95 {draw['map'][1]:.3f} ({draw['objects']} objects)",
                flush=True,
            )
        if args.weak_only:
            print(f"seed {seed}: weak mAP50 {r['weak'][0]:.3f} ({r['seconds']} s)", flush=True)
            continue
        print(
            f"seed {seed}: mAP50 weak {r['weak'][0]:.3f} | active {r['active'][0]:.3f} | "
            f"random {r['random'][0]:.3f}   (mAP50-95 {r['weak'][1]:.3f} | "
            f"{r['active'][1]:.3f} | {r['random'][1]:.3f}; objects added active "
            f"{r['objects_active']} random {r['objects_random']:.1f}; {r['seconds']} s)",
            flush=True,
        )
    for k, label in ((0, "mAP50"), (1, "mAP50-95")) if not args.weak_only else ():
        means = [np.mean([r[a][k] for r in results]) for a in ("weak", "active", "random")]
        print(
            f"mean {label} over {len(results)} seed(s): weak {means[0]:.3f} | "
            f"active {means[1]:.3f} | random {means[2]:.3f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args), "results": results}, indent=1, default=str)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
