"""The printed lines of ``bench_active_learning.py`` (results as the benchmark's JSON records)."""

from __future__ import annotations

import numpy as np


def report(r: dict) -> None:
    """One seed's lines: each random draw, then each queue arm against them."""
    seed = r["seed"]
    for d, draw in enumerate(r["random_draws"]):
        print(
            f"seed {seed} random draw {d}: mAP50 {draw['map'][0]:.3f} "
            f"mAP50-95 {draw['map'][1]:.3f} crack AP50 {draw['map'][2].get('crack', 0):.3f} "
            f"({draw['novel']} novel, {draw['objects']} objects)"
        )
    rnd = r["random_draws"]
    lo, hi = min(d["map"][0] for d in rnd), max(d["map"][0] for d in rnd)
    for rarity, a in r["queues"].items():
        print(
            f"seed {seed} rarity {rarity}: mAP50 start {r['weak'][0]:.3f} | queue "
            f"{a['map'][0]:.3f} | random {r['random']['map'][0]:.3f} ({lo:.3f}-{hi:.3f})   "
            f"(mAP50-95 {r['weak'][1]:.3f} | {a['map'][1]:.3f} | {r['random']['map'][1]:.3f}; "
            f"crack AP50 {a['map'][2].get('crack', 0):.3f}; queue took "
            f"{', '.join(n.rstrip('0123456789') for n in a['names'])}; {a['objects']} objects; "
            f"{r['seconds']} s{', random arm cached' if r.get('cached') else ''})",
            flush=True,
        )


def summarize(results: list[dict]) -> None:
    """Means over seeds per queue arm, and on how many seeds the queue beat every random draw."""
    for rarity in results[0]["queues"]:
        for k, label in ((0, "mAP50"), (1, "mAP50-95")):
            w, q, rnd = (
                np.mean([r["weak"][k] for r in results]),
                np.mean([r["queues"][rarity]["map"][k] for r in results]),
                np.mean([r["random"]["map"][k] for r in results]),
            )
            print(
                f"rarity {rarity}: mean {label} over {len(results)} seed(s): start {w:.3f} | "
                f"queue {q:.3f} | random {rnd:.3f}"
            )
        wins = sum(
            r["queues"][rarity]["map"][0] > max(d["map"][0] for d in r["random_draws"])
            for r in results
        )
        print(f"rarity {rarity}: queue beat every random draw (mAP50) on {wins} of {len(results)}")
