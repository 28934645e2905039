"""U-Net speed on the CPU, measured side by side in one run.

1. Prediction of the built-in boundary model (``models/grain_boundaries.pt``) over a synthetic
   etched micrograph in the product's tiles (256 px, 64 px overlap, 4 flips as the learned
   engine uses them): the network as trained (batch normalisation separate, default memory
   layout) against :meth:`UNet.for_inference` (batch normalisation folded into the
   convolutions, channels-last), which ``predict_tiles`` uses. Also the largest difference
   between the two probability maps.
2. Training steps of the same network size (8 crops of 128 px, cross-entropy, AdamW): default
   layout against channels-last, which ``train_model`` uses on the CPU.

Usage: ``python benchmarks/bench_unet_speed.py [--size 2048] [--steps 10] [--threads 2]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


class _AsTrained:
    """The network without the inference copy: what ``predict_tiles`` ran before it."""

    def __init__(self, net) -> None:
        self.net = net

    def __getattr__(self, name):
        return getattr(self.net, name)

    def __call__(self, x):
        return self.net(x.contiguous())

    def for_inference(self):
        return self


def bench_predict(size: int) -> dict[str, float]:
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment.grains import boundary_model
    from napari_microstructure.core.segment.synthetic_data import BUILTIN_BOUNDARY_MODEL
    from napari_microstructure.core.segment.tiling import TTA_FLIPS, predict_tiles, prepare_input
    from napari_microstructure.core.synthetic import generate

    image = generate("etched", shape=(size, size), seed=3).image
    net = boundary_model(BUILTIN_BOUNDARY_MODEL).net.eval()
    arr = prepare_input(image, net.in_channels)
    out, secs = {}, {}
    for name, candidate in (("as trained", _AsTrained(net)), ("inference copy", net)):
        t = time.perf_counter()
        out[name] = run_to_end(predict_tiles(candidate, arr, tta=TTA_FLIPS))
        secs[name] = time.perf_counter() - t
    diff = float(np.abs(out["as trained"] - out["inference copy"]).max())
    return {"plain_s": secs["as trained"], "fast_s": secs["inference copy"], "max_diff": diff}


def bench_train(steps: int) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    from napari_microstructure.core.segment.unet import UNet

    medians = {}
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(0)
        net = UNet(3, 2, 16, 4).to(memory_format=layout).train()
        opt = torch.optim.AdamW(net.parameters(), 1e-3)
        x = torch.randn(8, 3, 128, 128).contiguous(memory_format=layout)
        y = torch.randint(0, 2, (8, 128, 128))
        times = []
        for _ in range(steps + 2):  # the first two warm up
            t = time.perf_counter()
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t)
        medians[layout] = statistics.median(times[2:])
    return {"plain_s": medians[torch.contiguous_format], "fast_s": medians[torch.channels_last]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048, help="side of the predicted image (px)")
    ap.add_argument("--steps", type=int, default=10, help="training steps timed per layout")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    p = bench_predict(args.size)
    print(
        f"predict {args.size}x{args.size}, 4 flips: as trained {p['plain_s']:.1f} s, "
        f"inference copy {p['fast_s']:.1f} s, ratio {p['fast_s'] / p['plain_s']:.2f}x "
        f"(largest probability difference {p['max_diff']:.1e})"
    )
    t = bench_train(args.steps)
    print(
        f"training step, 8 x 128 px: default layout {1000 * t['plain_s']:.0f} ms, "
        f"channels-last {1000 * t['fast_s']:.0f} ms, ratio {t['fast_s'] / t['plain_s']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
