"""Encode speed: vae_core.analysis.encode_dataset over 10,000 MNIST images, median of repeated runs.

The explorer encodes a whole test set to draw the latent scatter; the target is ≤ 1 s on the CPU
for the 2-D and the 20-D model (the shipped MLPs). Images come from the official MNIST test set in
../shared/data/mnist (via an `idx:` spec), else mnist5k tiled to 10,000.

    python benchmarks/encode_speed.py [--runs 5] [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: the repo root holds vae_core
from benchmarks.machine import machine_info, print_header  # noqa: E402
from benchmarks.shipped_models import load_or_build  # noqa: E402
from vae_core.analysis import encode_dataset  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402

TARGET_S = 1.0
N_IMAGES = 10_000
MNIST_TEST = REPO.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"


def load_images(n: int) -> tuple[torch.Tensor, str]:
    """n images [n, 1, 28, 28] in [0, 1] and where they came from."""
    if MNIST_TEST.exists():
        x, source = load_dataset(f"idx:{MNIST_TEST}").split("all")[0], f"MNIST test set ({MNIST_TEST})"
    else:
        x, source = load_dataset("mnist5k").split("all")[0], f"mnist5k tiled ({MNIST_TEST} not found)"
    reps = -(-n // x.shape[0])
    return x.repeat(reps, 1, 1, 1)[:n].contiguous(), source


def time_encode(model: torch.nn.Module, x: torch.Tensor, runs: int) -> list[float]:
    encode_dataset(model, x)  # warm-up: first-call allocations and kernel selection
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        encode_dataset(model, x)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per model, after one warm-up run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 images, 2 runs")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = parser.parse_args(argv)
    n, runs = (1_000, 2) if args.quick else (N_IMAGES, args.runs)

    info = machine_info()
    print_header("Encode speed: vae_core.analysis.encode_dataset (CPU)", info)
    x, source = load_images(n)
    print(f"data:    {n} images from the {source}")
    models = {d: load_or_build(d) for d in (2, 20)}
    for d, (model, model_source) in models.items():
        layers = "-".join(map(str, [model.config.n_pixels, *model.config.hidden_sizes, 2 * d]))
        print(f"model:   {d}-D latent, encoder {layers}: {model_source}")
    print(f"timing:  {runs} runs per model after 1 warm-up run, median\n")

    print(f"{'latent':>6}  {'median s':>8}  {'min s':>6}  {'max s':>6}  {'images/s':>9}")
    results = []
    for d, (model, _) in models.items():
        seconds = time_encode(model, x, runs)
        median = statistics.median(seconds)
        results.append({"latent_dim": d, "median_s": median, "runs_s": seconds})
        print(f"{d:>6}  {median:>8.3f}  {min(seconds):>6.3f}  {max(seconds):>6.3f}  {n / median:>9.0f}")

    worst = max(r["median_s"] for r in results)
    passed = worst <= TARGET_S
    print(f"\nresult: {n} images encode in at most {worst:.3f} s (median, slower model); target ≤ {TARGET_S:g} s: "
          f"{'PASS' if passed else 'FAIL'}")

    if args.json:
        report = {"benchmark": "encode_speed", "command": sys.argv, "date": datetime.datetime.now().astimezone().isoformat(),
                  "machine": info, "images": n, "data": source,
                  "models": {str(d): s for d, (_, s) in models.items()}, "results": results,
                  "median_s": worst, "target_s": TARGET_S, "passed": passed}
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
