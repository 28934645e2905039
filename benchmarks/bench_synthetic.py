"""Synthetic micrographs: generation time per kind, and how close the looks are to real images.

1. Time of ``generate(kind, shape=(S, S))`` for S = 512 and 1024: CPU time of the process
   and wall time, median over seeds (on a shared machine the CPU time is the fairer figure).
2. Side by side with the real annotated micrographs in ``../shared/real_micrographs`` (when
   present; never shipped): simple statistics of the real tint-etched crops and of synthetic
   "tint" images (mean intercept in px, colour saturation, per-channel std, boundary/interior
   gradient ratio), and of the real Ni-superalloy SEM images and synthetic "precipitates"
   (matrix and particle grey level, edge halo, high-pass noise, area fractions).

Run: ``python benchmarks/bench_synthetic.py [--seeds 5] [--real DIR]``
"""

from __future__ import annotations

import argparse
import glob
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

from napari_microstructure.core.measure import lineal_intercept
from napari_microstructure.core.synthetic import generate

BASE_KINDS = ["etched", "tint", "bimodal", "ferrite_pearlite", "precipitates", "defects"]
DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "real_micrographs"


def timing(seeds: int) -> None:
    generate("etched", shape=(64, 64), seed=0)  # imports and first-call set-up
    print("kind               512x512 cpu/wall (s)   1024x1024 cpu/wall (s)")
    for kind in BASE_KINDS:
        cells = []
        for side in (512, 1024):
            cpu, wall = [], []
            for seed in range(seeds):
                t, c = time.perf_counter(), time.process_time()
                generate(kind, shape=(side, side), seed=seed)
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            cells.append(f"{np.median(cpu):6.2f} / {np.median(wall):5.2f}")
        print(f"{kind:18s} {cells[0]:>20s}   {cells[1]:>20s}")


def _tint_stats(rgb: np.ndarray, boundary: np.ndarray) -> tuple[float, float, float]:
    from skimage.color import rgb2gray, rgb2hsv

    grad = np.hypot(*np.gradient(ndimage.gaussian_filter(rgb2gray(rgb), 1)))
    far = ~ndimage.binary_dilation(boundary, iterations=3)
    return (
        float(rgb2hsv(rgb)[..., 1].mean()),
        float(rgb.std(axis=(0, 1)).mean()),
        float(grad[boundary].mean() / grad[far].mean()),
    )


def _sem_stats(img: np.ndarray, lab: np.ndarray) -> tuple[float, ...]:
    im = img.astype(float)
    hp = im - ndimage.gaussian_filter(im, 2)
    edge = ndimage.binary_dilation(lab == 1, iterations=3) & (lab == 0)
    far = (lab == 0) & ~ndimage.binary_dilation(lab == 1, iterations=6)
    return (
        float(np.median(im[lab == 0])),
        float(np.median(im[lab == 1])),
        float(np.median(im[edge]) - np.median(im[far])),
        float(hp[lab == 0].std()),
        float(np.mean(lab == 1)),
        float(np.mean(lab == 2)),
    )


def realism(real: Path, seeds: int) -> None:
    from skimage.io import imread
    from skimage.measure import label

    tint_dir = real / "tint_etched_grain_boundaries"
    rows = []
    for f in sorted(glob.glob(str(tint_dir / "masks" / "*.png"))):
        mask = imread(f)
        mask = mask if mask.ndim == 2 else mask[..., 0]
        rgb = imread(f.replace("/masks/", "/images/"))[..., :3] / 255.0
        li = lineal_intercept(label(mask <= 127, connectivity=1)).mean_intercept
        rows.append((li, *_tint_stats(rgb, mask > 127)))
    synth = []
    for seed in range(max(seeds, 16)):
        m = generate("tint", shape=(256, 256), seed=seed)
        synth.append(
            (
                m.truth["mean_intercept_um"] / m.pixel_size,
                *_tint_stats(m.image / 255.0, m.boundaries),
            )
        )
    head = "intercept px   saturation   channel std   boundary/interior gradient"
    print(f"\ntint-etched ({len(rows)} real crops vs {len(synth)} synthetic)\n       {head}")
    for name, r in (("real", np.array(rows)), ("synth", np.array(synth))):
        print(
            f"{name:6s} {np.median(r[:, 0]):12.1f} {r[:, 1].mean():12.2f} "
            f"{r[:, 2].mean():13.3f} {r[:, 3].mean():28.2f}"
        )
    sem_dir = real / "ni_superalloy_gamma_prime"
    rows = []
    for f in sorted(glob.glob(str(sem_dir / "images" / "*.png"))):
        lab = imread(f.replace("/images/", "/labels/").replace(".png", "_label.png"))
        rows.append(_sem_stats(imread(f), lab))
    synth = [
        _sem_stats(m.image, m.phases)
        for m in (generate("precipitates", seed=s) for s in range(max(seeds, 16)))
    ]
    head = "matrix  particle  halo  noise  coarse frac  fine frac"
    print(f"\nSEM precipitates ({len(rows)} real vs {len(synth)} synthetic)\n       {head}")
    for name, r in (("real", np.array(rows)), ("synth", np.array(synth))):
        v = r.mean(axis=0)
        print(
            f"{name:6s} {v[0]:6.0f} {v[1]:9.0f} {v[2]:+5.1f} {v[3]:6.1f} {v[4]:12.2f} {v[5]:10.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--real", type=Path, default=DEFAULT_REAL)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    timing(args.seeds)
    if args.real.is_dir():
        realism(args.real, args.seeds)
    else:
        print(f"\n(no real micrographs at {args.real}: realism comparison skipped)")


if __name__ == "__main__":
    main()
