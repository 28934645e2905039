"""Train the demo defect detector shipped in ``napari_microstructure/models/`` (CPU, seeded).

The training data are synthetic micrographs of the "defects" kind (exact boxes), drawn with
seeds 0..N-1; validation uses seeds from 50 000, and the held-out test set reported in the
model card uses seeds from 90 000, which training never sees.

    nice -n 10 python scripts/train_demo_detector.py            # train, evaluate, ship
    python scripts/train_demo_detector.py --evaluate-only       # re-measure the shipped model

Writes ``demo_detector.pt`` (fp16, no optimizer, model info inside), ``demo_detector.json``
(sidecar: pixel size, classes, input size, metrics) and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import napari_microstructure  # noqa: F401  (offline ultralytics configuration, before it loads)
from napari_microstructure.core.detect import MODEL_INFO_KEY, write_model_info
from napari_microstructure.core.detect.yolo_files import write_yolo_dataset
from napari_microstructure.core.synthetic import DEFECT_CLASSES, generate
from napari_microstructure.core.yolo_env import import_ultralytics

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "napari_microstructure" / "models"
VAL_SEED, TEST_SEED = 50_000, 90_000
CLAIM_MAP50 = 0.9  # a class is claimed when its held-out mAP50 reaches this

# YOLOv8 layout at an eighth of the width of YOLOv8n's base: ~0.8 M parameters, ~2 MB in fp16.
ARCH = """
nc: {nc}
scales:
  t: [0.33, {width}, 1024]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 3, C2f, [128, True]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [-1, 6, C2f, [256, True]]
  - [-1, 1, Conv, [512, 3, 2]]
  - [-1, 6, C2f, [512, True]]
  - [-1, 1, Conv, [1024, 3, 2]]
  - [-1, 3, C2f, [1024, True]]
  - [-1, 1, SPPF, [1024, 5]]
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 6], 1, Concat, [1]]
  - [-1, 3, C2f, [512]]
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 4], 1, Concat, [1]]
  - [-1, 3, C2f, [256]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [[-1, 12], 1, Concat, [1]]
  - [-1, 3, C2f, [512]]
  - [-1, 1, Conv, [512, 3, 2]]
  - [[-1, 9], 1, Concat, [1]]
  - [-1, 3, C2f, [1024]]
  - [[15, 18, 21], 1, Detect, [nc]]
"""


# objects per image, (low, high): denser than the generator's default, so every training
# pixel teaches more; drawn from the image's own seed
COUNTS = {
    "n_inclusions": (2, 7),
    "n_pores": (1, 4),
    "n_cracks": (0, 2),
    "n_precipitates": (3, 9),
    "n_scratches": (0, 2),
}


def samples(seeds: range, size: int, pixel_size: float, classes: list[str]):
    """(image, objects) of the defects kind, objects restricted and re-indexed to ``classes``."""
    for seed in seeds:
        rng = np.random.default_rng(seed)
        counts = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in COUNTS.items()}
        m = generate("defects", shape=(size, size), pixel_size=pixel_size, seed=seed, **counts)
        objs = [
            {**o, "class_id": classes.index(o["cls"])} for o in m.objects if o["cls"] in classes
        ]
        yield m.image, objs


def make_dataset(root: Path, args: argparse.Namespace, classes: list[str]) -> Path:
    t = time.time()
    write_yolo_dataset(
        samples(range(args.n_train), args.imgsz, args.pixel_size, classes), root, "train", classes
    )
    write_yolo_dataset(
        samples(range(VAL_SEED, VAL_SEED + args.n_val), args.imgsz, args.pixel_size, classes),
        root,
        "val",
        classes,
    )
    write_yolo_dataset(
        samples(range(TEST_SEED, TEST_SEED + args.n_test), args.imgsz, args.pixel_size, classes),
        root,
        "test",
        classes,
    )
    print(f"dataset written in {time.time() - t:.0f} s: {root}", flush=True)
    return root / "data.yaml"


def evaluate(pt: Path, data: Path, imgsz: int) -> dict:
    """mAP50 / mAP50-95 per class on the held-out test split."""
    from ultralytics import YOLO

    res = YOLO(str(pt)).val(
        data=str(data),
        split="test",
        imgsz=imgsz,
        batch=8,
        conf=0.001,
        iou=0.6,
        workers=0,
        plots=False,
        verbose=False,
        device="cpu",
    )
    names = res.names
    per_class = {}
    for i, c in enumerate(res.box.ap_class_index):
        p, r, ap50, ap = res.box.class_result(i)
        per_class[names[int(c)]] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "mAP50": round(float(ap50), 4),
            "mAP50-95": round(float(ap), 4),
        }
    return {
        "split": f"synthetic defects, seeds {TEST_SEED}..",
        "mAP50": round(float(res.box.map50), 4),
        "mAP50-95": round(float(res.box.map), 4),
        "per_class": per_class,
    }


def claimed_classes(info: dict) -> list[str]:
    """Classes whose held-out mAP50 reaches ``CLAIM_MAP50``."""
    per = info["metrics"]["per_class"]
    return [c for c in info["classes"] if per.get(c, {}).get("mAP50", 0.0) >= CLAIM_MAP50]


def ship(best: Path, info: dict, out: Path) -> Path:
    """Copy the (already fp16, optimizer-free) best checkpoint with the model info inside."""
    import torch

    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    for key in ("optimizer", "train_results", "train_metrics", "git"):
        ckpt.pop(key, None)
    ckpt["model"] = (ckpt.get("ema") or ckpt["model"]).half()
    ckpt["ema"] = None
    ckpt["train_args"] = {
        k: v
        for k, v in ckpt.get("train_args", {}).items()
        if k not in ("data", "project", "name", "save_dir")
    }
    ckpt[MODEL_INFO_KEY] = info
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, out)
    return out


def model_card(info: dict, args: argparse.Namespace, minutes: float | None) -> str:
    m = info["metrics"]
    rows = "\n".join(
        f"| {c} | {v['mAP50']:.3f} | {v['mAP50-95']:.3f} | {v['precision']:.3f} "
        f"| {v['recall']:.3f} |"
        for c, v in m["per_class"].items()
    )
    dropped = [c for c in DEFECT_CLASSES if c not in info["classes"]]
    drop_text = f"Not trained: {', '.join(dropped)} ({args.drop_reason})." if dropped else ""
    claimed = info["claimed"]
    weak = [c for c in info["classes"] if c not in claimed]
    if weak:
        drop_text += (
            f" Trained but **not claimed** (held-out mAP50 below {CLAIM_MAP50}): "
            + ", ".join(f"{c} ({m['per_class'][c]['mAP50']:.2f})" for c in weak)
            + "; the model still outputs these boxes, do not rely on them."
        )
    took = f" in {minutes:.0f} min" if minutes else ""
    epochs = info.get("epochs", args.epochs)
    note = f"\n## How these weights were made\n\n{info['note']}\n" if info.get("note") else ""
    prev = info.get("continued_from")
    history = (
        "\n  It started from the weights of an earlier run of this script; see "
        "'How these weights were made'."
        if prev
        else ""
    )
    return f"""# Demo defect detector

A small YOLOv8-layout detector (width x{info["width"]}, {info["n_params"] / 1e6:.2f} M parameters,
fp16, {info["file_mb"]:.1f} MB) trained by this project on synthetic micrographs. It is the
default model of the Detect widget and of `napari-microstructure detect`, so detection works
with no download. It is a demonstration: it knows the synthetic look, not your real specimens.
Train your own on annotated micrographs (docs/detect.md).

- Claimed classes (held-out mAP50 >= {CLAIM_MAP50}): {", ".join(f"`{c}`" for c in claimed)}.
  {drop_text}
- Pixel size: **{info["pixel_size_um"]} µm/px**. Images with a known pixel size are resampled to
  it before detection, so the model works across magnifications.
- Input: {info["imgsz"]} x {info["imgsz"]} px tiles (larger images are tiled).
- Training data: {args.n_train} synthetic "defects" micrographs ({args.imgsz} px, seeds
  0..{args.n_train - 1}), validation {args.n_val} (seeds {VAL_SEED}..), {epochs} epochs on
  CPU{took}, seed {args.seed}, batch {args.batch}, made by `scripts/train_demo_detector.py`.
  Objects per image are drawn from the image's seed (`COUNTS` in the script: denser than the
  generator's default). Command: `{info.get("command", "")}`.{history}

## Held-out test ({args.n_test} synthetic images, seeds {TEST_SEED}.., never used in training)

mAP50 over all trained classes: **{m["mAP50"]:.3f}** (mAP50-95 {m["mAP50-95"]:.3f}).

| class | mAP50 | mAP50-95 | precision | recall |
|---|---|---|---|---|
{rows}

Re-measure: `python scripts/train_demo_detector.py --evaluate-only`.
{note}"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument(
        "--hours",
        type=float,
        default=0.7,
        help="wall-time budget; ultralytics fits the epochs to it (0 = off)",
    )
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--n-train", type=int, default=240)
    ap.add_argument("--n-val", type=int, default=32)
    ap.add_argument("--n-test", type=int, default=64)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--pixel-size", type=float, default=0.5)
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", nargs="+", default=list(DEFECT_CLASSES))
    ap.add_argument("--drop-reason", default="")
    ap.add_argument("--out", type=Path, default=MODELS / "demo_detector.pt")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--evaluate-only", action="store_true")
    ap.add_argument(
        "--card-only",
        action="store_true",
        help="rewrite MODEL_CARD.md from the sidecar JSON next to --out",
    )
    ap.add_argument("--note", default="", help="extra text for the model card")
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="continue from these weights (a previous run's best.pt) instead of "
        "random initialisation",
    )
    ap.add_argument("--warmup", type=float, default=3.0, help="warm-up epochs")
    ap.add_argument(
        "--optimizer", default="auto", help="ultralytics optimizer (auto = AdamW here)"
    )
    ap.add_argument("--lr0", type=float, default=0.01, help="initial lr (ignored by 'auto')")
    args = ap.parse_args(argv)
    if args.card_only:
        info = json.loads(args.out.with_suffix(".json").read_text())
        info["claimed"] = claimed_classes(info)
        if args.note:
            info["note"] = args.note
        write_model_info(args.out, info)
        (args.out.parent / "MODEL_CARD.md").write_text(
            model_card(info, args, info.get("train_minutes"))
        )
        return 0
    import_ultralytics()
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(2)
    classes = [c for c in DEFECT_CLASSES if c in args.classes]
    if args.evaluate_only:  # the shipped model's own classes, whatever --classes says
        classes = json.loads(args.out.with_suffix(".json").read_text())["classes"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="nms-demo-det-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data" / "data.yaml"
    if not data.is_file():
        make_dataset(work / "data", args, classes)
    if args.evaluate_only:
        info = json.loads(args.out.with_suffix(".json").read_text())
        info["metrics"] = evaluate(args.out, data, info["imgsz"])
        info["claimed"] = claimed_classes(info)
        write_model_info(args.out, info)
        print(json.dumps(info["metrics"], indent=2))
        return 0
    arch = work / "demo_detector_arch.yaml"
    arch.write_text(ARCH.format(nc=len(classes), width=args.width))
    t0 = time.time()
    model = YOLO(str(args.init) if args.init else str(arch), task="detect")
    model.train(
        data=str(data),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        workers=0,
        time=args.hours or None,
        device="cpu",
        seed=args.seed,
        deterministic=True,
        project=str(work),
        name="run",
        exist_ok=True,
        plots=False,
        verbose=False,
        cache="ram",
        patience=100,
        close_mosaic=max(2, args.epochs // 8),
        scale=0.15,
        degrees=0.0,
        flipud=0.5,
        fliplr=0.5,
        hsv_h=0.0,
        hsv_s=0.0,
        hsv_v=0.3,
        translate=0.1,
        mosaic=1.0,
        mixup=0.0,
        amp=False,
        val=True,
        warmup_epochs=args.warmup,
        optimizer=args.optimizer,
        lr0=args.lr0,
    )
    minutes = (time.time() - t0) / 60
    args.epochs = int(model.trainer.epoch) + 1 if model.trainer is not None else args.epochs
    best = work / "run" / "weights" / "best.pt"
    n_params = sum(p.numel() for p in YOLO(str(best)).model.parameters())
    info = {
        "pixel_size_um": args.pixel_size,
        "classes": classes,
        "imgsz": args.imgsz,
        "width": args.width,
        "n_params": int(n_params),
        "trained_on": "synthetic defects",
        "script": "scripts/train_demo_detector.py",
        "epochs": args.epochs,
        "train_minutes": round(minutes, 1),
        "hours_budget": args.hours,
        "command": "python scripts/train_demo_detector.py " + " ".join(argv or sys.argv[1:]),
    }
    if args.init:
        prev = torch.load(args.init, map_location="cpu", weights_only=False)
        prev_args = prev.get("train_args") or {}
        info["continued_from"] = {
            k: prev_args.get(k) for k in ("epochs", "imgsz", "batch", "seed")
        }
    tmp = work / "shipped.pt"
    ship(best, info, tmp)
    info["metrics"] = evaluate(tmp, data, args.imgsz)
    info["claimed"] = claimed_classes(info)
    info["file_mb"] = round(tmp.stat().st_size / 1e6, 2)
    ship(best, info, tmp)
    shutil.copyfile(tmp, args.out)
    write_model_info(args.out, info)
    (args.out.parent / "MODEL_CARD.md").write_text(model_card(info, args, minutes))
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
