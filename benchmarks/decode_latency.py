"""Decode latency: one `model.decode(z)` call under torch.inference_mode, median and p95 per call.

The target is the explorer's slider path: one 2-D latent through the default asset architecture
(the shipped MLP), median ≤ 0.2 ms on the CPU. The 20-D model and a batch of 256 are reported beside it.

    python benchmarks/decode_latency.py [--calls 2000] [--quick] [--json FILE]
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

TARGET_MS = 0.2
WARMUP_CALLS = 200


@torch.inference_mode()
def time_decode(model: torch.nn.Module, batch: int, calls: int, warmup: int) -> dict:
    """Per-call wall time of model.decode on one fixed z [batch, d], in milliseconds."""
    z = torch.randn(batch, model.config.latent_dim)
    for _ in range(warmup):
        model.decode(z)
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        model.decode(z)
        times.append((time.perf_counter_ns() - start) / 1e6)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))], "calls": calls}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per case, after a warm-up")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 calls per case")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = parser.parse_args(argv)
    calls, warmup = (50, 10) if args.quick else (args.calls, WARMUP_CALLS)

    info = machine_info()
    print_header("Decode latency: model.decode(z) under torch.inference_mode (CPU)", info)
    models = {d: load_or_build(d) for d in (2, 20)}
    for d, (model, source) in models.items():
        layers = "-".join(map(str, [d, *reversed(model.config.hidden_sizes), model.config.n_pixels]))
        print(f"model:   {d}-D latent, decoder {layers}: {source}")
    print(f"timing:  {calls} calls per case after {warmup} warm-up calls\n")

    print(f"{'latent':>6}  {'batch':>5}  {'median ms':>9}  {'p95 ms':>8}  {'images/s':>10}")
    cases = []
    for d in (2, 20):
        for batch in (1, 256):
            result = {"latent_dim": d, "batch": batch, **time_decode(models[d][0], batch, calls, warmup)}
            cases.append(result)
            print(f"{d:>6}  {batch:>5}  {result['median_ms']:>9.3f}  {result['p95_ms']:>8.3f}  "
                  f"{batch / result['median_ms'] * 1e3:>10.0f}")

    headline = cases[0]["median_ms"]  # 2-D latent, batch 1
    passed = headline <= TARGET_MS
    print(f"\nresult: one 2-D latent decodes in {headline:.3f} ms (median); target ≤ {TARGET_MS} ms: "
          f"{'PASS' if passed else 'FAIL'}")

    if args.json:
        report = {"benchmark": "decode_latency", "command": sys.argv, "date": datetime.datetime.now().astimezone().isoformat(),
                  "machine": info, "models": {str(d): source for d, (_, source) in models.items()}, "cases": cases,
                  "median_ms": headline, "target_ms": TARGET_MS, "passed": passed}
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
