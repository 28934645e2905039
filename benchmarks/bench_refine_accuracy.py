"""Built-in engine accuracy on synthetic micrographs with known grains.

For each kind ("etched", "tint") and seed, at the generator's default settings (512x512 px,
0.5 µm/px, grain size, twins, scratches, gaps and artefacts drawn by the seed):

* **click IoU**: one positive click at the innermost pixel of every true grain (the pixel
  farthest from its outline); IoU of the engine's first mask with the true grain, averaged
  over all grains of the image;
* **one corrective click**: where that first mask spills into a neighbour (IoU below 0.8 and
  covering the centre of the true grain it takes most pixels from), a negative click at that
  centre, as an annotator would add it; ``IoU+1`` is the mean IoU after it, ``fixed`` how
  many grains got one;
* **segment-all**: grain count of ``segment_all_grains`` against the true count, and the
  ASTM E112 G measured by ``core.measure.summary.summarize`` both ways (lineal intercept and
  planimetric) on the predicted labels against the G the same function measures on the TRUE
  ``grains`` labels (like compared with like).

``--engine learned`` measures the same engine on the built-in learned boundary model
(``core.refine.learned_boundary``) instead of the filter map.

Usage: ``python benchmarks/bench_refine_accuracy.py [--seeds 5] [--kinds etched tint]
[--size 512] [--engine classical|learned]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

TARGET_IOU, TARGET_COUNT, TARGET_G = 0.95, 0.05, 0.1


def evaluate(
    kind: str, seed: int, size: int = 512, engine_name: str = "classical"
) -> dict[str, float]:
    """Click IoU, count and G errors of the built-in engine on one synthetic micrograph."""
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.refine import make_engine
    from napari_microstructure.core.refine.accuracy import corrected_click_ious, grain_errors
    from napari_microstructure.core.synthetic import generate

    m = generate(kind, shape=(size, size), seed=seed)
    engine = make_engine(engine_name)
    t0 = time.perf_counter()
    run_to_end(engine.set_image(m.image, m.pixel_size))
    t_set = time.perf_counter() - t0
    ious, fixed = corrected_click_ious(engine, m.grains)
    err = grain_errors(engine.labels, m.grains, m.pixel_size)
    pred, true = err["pred"], err["true"]
    return {
        "kind": kind,
        "seed": seed,
        "iou": float(ious.mean()),
        "iou_median": float(np.median(ious)),
        "iou_corrected": float(fixed.mean()),
        "n_corrected": int((fixed != ious).sum()),
        "n_true": int(true["grain_count"]),
        "n_pred": int(pred["grain_count"]),
        "count_err": err["count_err"],
        "g_int_err": err["g_int_err"],
        "g_pla_err": err["g_pla_err"],
        "g_int_true": true["astm_g_intercept"],
        "set_image_s": t_set,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--kinds", nargs="+", default=["etched", "tint"])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--engine", choices=["classical", "learned"], default="classical")
    args = ap.parse_args(argv)
    print(
        f"built-in engine ({args.engine}), {args.size}x{args.size} px, generator defaults; "
        "G errors compare "
        "summarize() on predicted labels with summarize() on the TRUE grain labels "
        "(same method both sides)"
    )
    print(
        f"{'kind':7} {'seed':>4} {'IoU':>6} {'IoUmed':>6} {'IoU+1':>6} {'fixed':>5} "
        f"{'true':>5} {'pred':>5} "
        f"{'count':>7} {'dG int':>7} {'dG pla':>7} {'G true':>6} {'prep s':>6}"
    )
    ok = True
    for kind in args.kinds:
        rows = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            r = evaluate(kind, seed, args.size, args.engine)
            rows.append(r)
            print(
                f"{kind:7} {seed:4d} {r['iou']:6.3f} {r['iou_median']:6.3f} "
                f"{r['iou_corrected']:6.3f} {r['n_corrected']:5d} {r['n_true']:5d} "
                f"{r['n_pred']:5d} {100 * r['count_err']:+6.1f}% {r['g_int_err']:+7.3f} "
                f"{r['g_pla_err']:+7.3f} {r['g_int_true']:6.2f} {r['set_image_s']:6.2f}",
                flush=True,
            )
        iou = np.mean([r["iou"] for r in rows])
        fixed = np.mean([r["iou_corrected"] for r in rows])
        cnt = max(abs(r["count_err"]) for r in rows)
        gi = max(abs(r["g_int_err"]) for r in rows)
        gp = max(abs(r["g_pla_err"]) for r in rows)
        passed = iou >= TARGET_IOU and cnt <= TARGET_COUNT and max(gi, gp) <= TARGET_G
        ok &= passed
        print(
            f"{kind}: mean click IoU {iou:.3f} (target >= {TARGET_IOU}; {fixed:.3f} after one "
            "corrective click where needed); worst count error "
            f"{100 * cnt:.1f}% (target <= {100 * TARGET_COUNT:.0f}%); worst |dG| intercept "
            f"{gi:.3f}, planimetric {gp:.3f} (target <= {TARGET_G}) -> "
            f"{'PASS' if passed else 'FAIL'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
