"""Train the border placement network (``models/border_placement.pt``) on synthetic images.

For ``--images`` synthetic micrographs of each of ``--kinds`` (default etched: the engine applies
the network to grey images only; 512 x 512 px at 0.5 µm/px, generator seeds ``--seed-base``
onwards; the refine benchmark uses seeds 0-39 and the built-in boundary model was trained on
seeds 1000-1255, so the default base 2000 keeps all three apart)
the built-in learned engine segments every grain without border placement; every clean crossing
of a border, down the columns and along the rows, is labelled with the shift (-1, 0, +1) that
puts it on the true border (``core.grains.border_placement.crossing_targets``). A small network
(``build_net``) learns the shift from ``crossing_features``. The crossings of the last
``--val-images`` seeds of each kind are held out and the accuracy on them is printed and stored
with the weights, next to the accuracy of leaving every border where it is.

Run: ``python scripts/train_border_placement.py [--out PATH] [--images N] [--val-images N]
[--kinds etched tint] [--epochs N] [--hidden N] [--seed N] [--jobs N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "napari_microstructure" / "models"


def crossings_of(args: tuple[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Features and target shifts of the clean crossings of one synthetic micrograph."""
    from napari_microstructure.core.grains.border_placement import (
        colour_of,
        crossing_features,
        crossing_targets,
        crossings,
        oriented,
    )
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.refine.learned_boundary import segment_grains
    from napari_microstructure.core.synthetic import generate

    kind, seed = args
    m = generate(kind, shape=(512, 512), seed=seed)
    seg = run_to_end(segment_grains(m.image, "learned", place_borders=False))
    xs, ys = [], []
    for _, (lab, bmap, col, truth) in oriented(
        seg.labels, seg.boundary, colour_of(m.image), m.grains
    ):
        rows, cols = crossings(lab)
        shift, valid = crossing_targets(lab, truth, rows, cols)
        xs.append(crossing_features(lab, bmap, col, rows[valid], cols[valid]))
        ys.append(shift[valid])
    return np.concatenate(xs), np.concatenate(ys)


def gather(seeds: list[int], kinds: list[str], jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """Crossings of the micrographs of ``kinds`` at ``seeds``."""
    tasks = [(kind, s) for s in seeds for kind in kinds]
    with ProcessPoolExecutor(jobs) as pool:
        parts = list(pool.map(crossings_of, tasks))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT / "border_placement.pt")
    ap.add_argument("--images", type=int, default=80, help="training images of each kind")
    ap.add_argument("--val-images", type=int, default=5, help="held-out images of each kind")
    ap.add_argument("--seed-base", type=int, default=2000)
    ap.add_argument("--kinds", nargs="+", default=["etched"], choices=["etched", "tint"])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from napari_microstructure.core.grains.border_placement import build_net

    t0 = time.perf_counter()
    train_seeds = list(range(args.seed_base, args.seed_base + args.images))
    val_seeds = list(range(train_seeds[-1] + 1, train_seeds[-1] + 1 + args.val_images))
    x, y = gather(train_seeds, args.kinds, args.jobs)
    xv, yv = gather(val_seeds, args.kinds, args.jobs)
    t_data = time.perf_counter() - t0
    print(f"{len(y)} training crossings, {len(yv)} held out ({t_data:.0f} s)", flush=True)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xt = torch.from_numpy((x - mean) / std)
    yt = torch.from_numpy(y + 1).long()
    xvt = torch.from_numpy((xv - mean) / std)
    torch.manual_seed(args.seed)
    net = build_net(x.shape[1], args.hidden)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 1024):
            b = perm[i : i + 1024]
            loss = torch.nn.functional.cross_entropy(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        net.eval()
        with torch.no_grad():
            acc = float((net(xvt).argmax(1).numpy() - 1 == yv).mean())
        print(f"epoch {epoch + 1}: held-out accuracy {acc:.4f}", flush=True)
    keep = float((yv == 0).mean())
    meta = {
        "train_seeds": [train_seeds[0], train_seeds[-1]],
        "val_seeds": [val_seeds[0], val_seeds[-1]],
        "kinds": args.kinds,
        "epochs": args.epochs,
        "seed": args.seed,
        "val_accuracy": round(acc, 4),
        "val_accuracy_keep_all": round(keep, 4),
        "train_crossings": int(len(y)),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    state = {
        "net": net.state_dict(),
        "mean": torch.from_numpy(mean),
        "std": torch.from_numpy(std),
        "hidden": args.hidden,
        "meta": meta,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(f"held-out accuracy {acc:.4f} (leaving every border: {keep:.4f}); saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
