"""Detection benchmark: our detect path vs a plain ``YOLO.predict`` loop, and big-image memory.

1. Overhead: the same images (model input size, at the model's pixel size, so one tile and no
   resampling) through ``core.detect.detect`` and through ``YOLO.predict``, interleaved, in one
   run. Prints the median time per image of each and their ratio (target <= 1.05).
2. Peak memory of a tiled run on a large image (default 20 000 x 20 000 uint8), measured in a
   subprocess with ``resource.getrusage`` (max RSS), next to the same process's RSS before it.

    python benchmarks/bench_detect.py                     # both parts
    python benchmarks/bench_detect.py --big 0             # overhead only
    python benchmarks/bench_detect.py --big 8000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np

import napari_microstructure  # noqa: F401  (offline ultralytics configuration)


def _images(n: int, size: int, pixel_size: float) -> list[np.ndarray]:
    from napari_microstructure.core.synthetic import generate

    out = []
    for seed in range(n):
        img = generate("defects", shape=(size, size), pixel_size=pixel_size, seed=70_000 + seed)
        out.append(img.image if img.image.ndim == 2 else img.image[..., 0])
    return out


def overhead(n_images: int, repeats: int, model: str | None) -> dict:
    import torch

    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.progress import run_to_end

    det = load_detector(model)
    ps = det.pixel_size
    images = _images(n_images, det.imgsz, ps or 0.5)
    bgr = [np.ascontiguousarray(np.repeat(im[..., None], 3, -1)) for im in images]
    kw = {"conf": 0.25, "iou": 0.5, "max_det": 300}

    def ours(i: int) -> int:
        return len(run_to_end(detect(images[i], det, pixel_size=ps, **kw)))

    def plain(i: int) -> int:
        r = det.yolo.predict(bgr[i], imgsz=det.imgsz, verbose=False, device="cpu", **kw)
        return len(r[0].boxes)

    for i in range(min(3, n_images)):  # warm up both paths (predictor setup, model fusion)
        ours(i), plain(i)
    wall = {"ours": [], "plain": []}
    cpu = {"ours": [], "plain": []}
    count = {"ours": 0, "plain": 0}
    for _ in range(repeats):
        for i in range(n_images):
            for name in ("ours", "plain") if i % 2 == 0 else ("plain", "ours"):
                t0, c0 = time.perf_counter(), time.process_time()
                count[name] += ours(i) if name == "ours" else plain(i)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    t_ours, t_plain = wall["ours"], wall["plain"]
    n_ours, n_plain = count["ours"], count["plain"]
    mo, mp = statistics.median(t_ours), statistics.median(t_plain)
    co, cp = statistics.median(cpu["ours"]), statistics.median(cpu["plain"])
    return {
        "images": n_images,
        "repeats": repeats,
        "imgsz": det.imgsz,
        "median_ms_ours": round(1e3 * mo, 2),
        "median_ms_plain_predict": round(1e3 * mp, 2),
        "total_s_ours": round(sum(t_ours), 3),
        "total_s_plain": round(sum(t_plain), 3),
        "ratio_median": round(mo / mp, 3),
        "ratio_total": round(sum(t_ours) / sum(t_plain), 3),
        "detections_ours": n_ours,
        "detections_plain": n_plain,
        "median_cpu_ms_ours": round(1e3 * co, 2),
        "median_cpu_ms_plain_predict": round(1e3 * cp, 2),
        "ratio_cpu_median": round(co / cp, 3),
        "torch_threads": torch.get_num_threads(),
    }


BIG = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    import napari_microstructure
    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.synthetic import generate

    size, model = int(sys.argv[1]), sys.argv[2] or None
    det = load_detector(model)
    ps = det.pixel_size or 0.5
    patch = generate("defects", shape=(1000, 1000), pixel_size=ps, seed=71_000).image
    patch = patch if patch.ndim == 2 else patch[..., 0]
    image = np.empty((size, size), np.uint8)
    for y in range(0, size, 1000):
        for x in range(0, size, 1000):
            image[y:y + 1000, x:x + 1000] = patch[: size - y, : size - x]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    df = run_to_end(detect(image, det, pixel_size=ps, max_det=1_000_000))
    print(json.dumps({"size": size, "n_tiles": df.attrs["n_tiles"], "detections": len(df),
                      "seconds": round(time.perf_counter() - t0, 1),
                      "image_gib": round(image.nbytes / 2**30, 3),
                      "peak_rss_gib_before_detect": round(before, 3),
                      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                            / 2**20, 3)}))
    """
)


def big_memory(size: int, model: str | None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", BIG, str(size), model or ""],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--big", type=int, default=20_000, help="side of the big image (0 = skip)")
    ap.add_argument("--model", default=None, help="detection .pt (default: the demo model)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    res = {"overhead": overhead(args.images, args.repeats, args.model)}
    o = res["overhead"]
    print(
        f"per image at {o['imgsz']} px: ours {o['median_ms_ours']} ms, plain YOLO.predict "
        f"{o['median_ms_plain_predict']} ms -> ratio {o['ratio_median']} (median), "
        f"{o['ratio_total']} (total); detections {o['detections_ours']} vs "
        f"{o['detections_plain']}",
        flush=True,
    )
    print(
        f"CPU time per image: ours {o['median_cpu_ms_ours']} ms, plain "
        f"{o['median_cpu_ms_plain_predict']} ms -> ratio {o['ratio_cpu_median']} "
        f"(torch threads: {o['torch_threads']})",
        flush=True,
    )
    if args.big:
        b = res["big"] = big_memory(args.big, args.model)
        print(
            f"{b['size']} x {b['size']} uint8 ({b['image_gib']} GiB), {b['n_tiles']} tiles, "
            f"{b['detections']} detections in {b['seconds']} s: peak RSS {b['peak_rss_gib']} GiB "
            f"(process before detect: {b['peak_rss_gib_before_detect']} GiB)"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
