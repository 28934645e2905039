"""The printed table of ``bench_segment.py`` (results as the benchmark's JSON records)."""

from __future__ import annotations


def _seconds(r: dict) -> str:
    if "segment_seconds" in r:
        return f"none (segment-all {r['segment_seconds']:.0f} s for all crops)"
    cpu, device = r.get("train_cpu_seconds"), r.get("device", "cpu")
    if device != "cpu":  # process time of a GPU run is not a CPU training time
        return f"{r['train_seconds']:.0f} s on {device}"
    start = r.get("start_seconds")
    return (
        f"{r['train_seconds']:.0f} s"
        + (f" ({cpu:.0f} s CPU)" if cpu else "")
        + (f", after the starting model's own {start:.0f} s" if start else "")
    )


def print_table(results: list[dict]) -> None:
    print("\nSegmentation on real micrographs (held-out images)")
    for r in results:
        if r["part"].startswith("ni"):
            ious = "  ".join(f"{k} {v:.3f}" for k, v in r["iou"].items())
            target = {"ni_all": 0.90, "ni_one": 0.85}.get(r["part"])
            tgt = f" (target >= {target:.2f})" if target else " (baseline)"
            print(
                f"{r['part']:<12} IoU: {ious}; precipitates mean {r['precipitate_mean_iou']:.3f}"
                f"{tgt}; training {_seconds(r)}"
            )
        else:
            print(
                f"{r['part']:<12} boundary F1@3px {r['boundary_f1_3px']:.3f}; mean lineal"
                f" intercept relative error {r['intercept_rel_error_mean']:.3f} (median "
                f"{r['intercept_rel_error_median']:.3f}, target <= 0.10) on {r['n_test']} crops;"
                f" training {_seconds(r)}"
            )
            if "intercept_rel_error_full_length" in r:  # results saved before it was measured
                print(
                    f"{'':<12} measured on the whole test-line length (E112):"
                    f" {r['intercept_rel_error_full_length']:.3f} (median"
                    f" {r['intercept_rel_error_full_length_median']:.3f})"
                )
