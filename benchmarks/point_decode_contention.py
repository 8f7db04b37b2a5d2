"""Decoding one latent point while other Python threads want the GIL: eager decoder against traced.

A Streamlit server runs every session's script in one process, so a drag step's decode shares Python's
GIL with the other sessions' threads. Each eager torch op lets the GIL go and must win it back, which
can take a thread-switch interval (5 ms) when another thread is running Python. vae_core.serving.point_decoder
traces and freezes the decoder so one decode is one call into compiled code, one GIL hand-off.

For each shipped model: the time of one decode of a fixed z [1, d], eager (`model.decode`) and traced
(`PointDecoder`), alone and beside --busy threads that run pure Python; p50 and p95 over --calls
decodes each, and the ratio eager / traced in the same run.

    python3 benchmarks/point_decode_contention.py [--calls 200] [--busy 2] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.machine import machine_info, print_header  # noqa: E402
from vae_core.runs.checkpoint import load_run  # noqa: E402
from vae_core.serving.point_decoder import PointDecoder  # noqa: E402

MODELS = ("vae-conv-10d-shapes", "vae-mlp-2d-mnist5k", "vae-mlp-20d-mnist5k", "cvae-mlp-2d-mnist5k")
WARMUP = 20


class BusyThreads:
    """Threads that run Python bytecode without pause, as other sessions' scripts do."""

    def __init__(self, n: int):
        self.n, self._stop, self._threads = n, threading.Event(), []

    def _spin(self) -> None:
        x = 0
        while not self._stop.is_set():
            for _ in range(1000):
                x += 1

    def __enter__(self):
        self._threads = [threading.Thread(target=self._spin, daemon=True) for _ in range(self.n)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()


def time_calls(decode, calls: int) -> dict:
    for _ in range(WARMUP):
        decode()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        decode()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--busy", type=int, default=2, help="threads running pure Python beside the decodes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the app decodes interactively (explorer/server/torch_threads.py)
    info = machine_info()
    print_header(f"One-point decode, eager vs traced, alone and beside {args.busy} busy Python threads", info)
    rows = []
    for name in MODELS:
        run = load_run(REPO / "assets" / "models" / name)
        model = run.model.eval()
        point = PointDecoder(model)
        z = torch.randn(model.config.latent_dim, generator=torch.Generator().manual_seed(0))
        y = torch.tensor([3]) if model.config.kind == "cvae" else None

        def eager():
            with torch.no_grad():
                model.decode(z[None], y)

        def traced():
            point(z, y)

        row = {"model": name, "traced": point.traced}
        row["eager_alone"], row["traced_alone"] = time_calls(eager, args.calls), time_calls(traced, args.calls)
        with BusyThreads(args.busy):
            row["eager_busy"], row["traced_busy"] = time_calls(eager, args.calls), time_calls(traced, args.calls)
        rows.append(row)
        print(f"{name:24s} alone: eager p50 {row['eager_alone']['p50_ms']:6.2f} / p95 {row['eager_alone']['p95_ms']:6.2f} ms, "
              f"traced {row['traced_alone']['p50_ms']:6.2f} / {row['traced_alone']['p95_ms']:6.2f} ms;  "
              f"busy: eager {row['eager_busy']['p50_ms']:7.2f} / {row['eager_busy']['p95_ms']:7.2f} ms, "
              f"traced {row['traced_busy']['p50_ms']:6.2f} / {row['traced_busy']['p95_ms']:6.2f} ms "
              f"(eager/traced p50 ×{row['eager_busy']['p50_ms'] / row['traced_busy']['p50_ms']:.1f})")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "point_decode_contention", "busy_threads": args.busy,
                                         "calls": args.calls, "rows": rows, "machine": info}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
