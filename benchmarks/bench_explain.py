"""Explain benchmark: saliency cost relative to one detection pass, and the sanity checks.

1. Timing on one 1024 x 1024 synthetic defects micrograph (0.5 µm/px), interleaved in one run:
   one detection pass (``core.detect.detect``), a whole-image EigenCAM and whole-image Grad-CAM
   (tiled like detection), and a per-object map (LayerCAM and Grad-CAM) of one detection.
   Median of ``--repeats`` runs each, caches off; prints each time and its ratio to detection.
2. ``--checks N``: pointing game, deletion test and randomised-model control on N held-out
   synthetic images (the tests use 3).

    python benchmarks/bench_explain.py
    python benchmarks/bench_explain.py --checks 8 --model path/to/detector.pt --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import napari_microstructure  # noqa: F401  (offline ultralytics configuration)


def _image(size: int, seed: int = 424242) -> tuple[np.ndarray, list[dict]]:
    from napari_microstructure.core.synthetic import generate

    m = generate("defects", shape=(size, size), pixel_size=0.5, seed=seed, n_scratches=0)
    return (m.image if m.image.ndim == 2 else m.image[..., 0]), m.objects


def timing(detector, size: int, repeats: int) -> dict:
    from napari_microstructure.core.detect import detect
    from napari_microstructure.core.explain import object_saliency, saliency_map
    from napari_microstructure.core.progress import run_to_end

    img, _ = _image(size)
    dets = run_to_end(detect(img, detector, pixel_size=0.5))  # warm-up, and a box to explain
    if len(dets) == 0:
        raise SystemExit("the model finds nothing on the benchmark image")
    row = dets.iloc[0]
    box, cid = (row.x1, row.y1, row.x2, row.y2), int(row.class_id)
    runs = {
        "detect": lambda: run_to_end(detect(img, detector, pixel_size=0.5)),
        "eigencam_image": lambda: run_to_end(
            saliency_map(img, detector, "eigencam", 0.5, use_cache=False)
        ),
        "gradcam_image": lambda: run_to_end(
            saliency_map(img, detector, "gradcam", 0.5, use_cache=False)
        ),
        "layercam_object": lambda: run_to_end(
            object_saliency(img, detector, box, cid, 0.5, "layercam", use_cache=False)
        ),
        "gradcam_object": lambda: run_to_end(
            object_saliency(img, detector, box, cid, 0.5, "gradcam", use_cache=False)
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):  # interleaved so load changes hit every entry alike
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "image": f"{size}x{size}",
        "n_detections": len(dets),
        "seconds": {k: round(v, 4) for k, v in med.items()},
        "ratio_to_detect": {k: round(v / med["detect"], 2) for k, v in med.items()},
    }


def checks(detector, n: int) -> dict:
    from napari_microstructure.core.explain.sanity import sanity_checks, synthetic_samples
    from napari_microstructure.core.progress import run_to_end

    samples = synthetic_samples(range(7000, 7000 + n))
    rep = run_to_end(sanity_checks(samples, detector))
    out = rep.summary()
    out["per_class_pointing"] = {
        c: round(
            float(np.mean([h for h, k in zip(rep.hits, rep.classes, strict=True) if k == c])), 3
        )
        for c in sorted(set(rep.classes))
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="detection .pt (default: the demo model)")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--checks", type=int, default=0, metavar="N", help="sanity checks on N images")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from napari_microstructure.core.detect import load_detector

    detector = load_detector(args.model)
    if detector.pixel_size is None:  # a bare checkpoint: the synthetic images' pixel size
        detector.pixel_size = 0.5
    result = {
        "model": str(detector.path),
        "torch_threads": args.threads,
        "timing": timing(detector, args.size, args.repeats),
    }
    t = result["timing"]
    print(
        f"image {t['image']}, {t['n_detections']} detections, median of {args.repeats}, "
        f"{args.threads} torch thread(s)"
    )
    for name, sec in t["seconds"].items():
        print(f"  {name:16s} {sec:8.3f} s   x{t['ratio_to_detect'][name]:.2f} of detection")
    if args.checks:
        result["checks"] = checks(detector, args.checks)
        print("sanity checks:", json.dumps(result["checks"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
