"""Latent pad latency: from a slider's input event to new pixels on the canvas, measured inside the page.

Targets (issue 4), browser and server on this machine: in-browser decode (MLP) p95 ≤ 50 ms; server
decode p95 ≤ 200 ms. The pad records, per drawn picture, performance.now() in a requestAnimationFrame
callback after the draw minus the input event's timeStamp (window.__latentPadTimings). The server
path's clock starts at the oldest input event the picture answers: input -> z sent -> fragment
rerun decodes -> data back -> drawn. Each drag step here waits for its picture before the next move,
so a step is one full round trip. Also: page open to the first decoded picture, cold and warm, and
hover-to-decode on the latent map (pointer event -> preview drawn, window.__latentMapHoverTimings),
which the issue sets no target for; it is held to the in-browser target.

    python3 benchmarks/latent_pad_latency.py [--steps 120]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.app_server import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app  # noqa: E402
from benchmarks.machine import machine_info, print_header  # noqa: E402

BROWSER_TARGET_MS = 50.0
SERVER_TARGET_MS = 200.0
PAD = '[data-testid="latentPad"]'
DRAWN = f"() => Number(document.querySelector('{PAD}')?.dataset.drawn || 0)"
FIRST_IMAGE = "() => window.__latentPadFirstImage"


def open_page(browser, url: str):
    """(context, page, seconds from page open to the first decoded picture drawn by the pad)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    opened = time.perf_counter()
    page.goto(url)
    page.wait_for_function(FIRST_IMAGE, timeout=60_000)
    return context, page, time.perf_counter() - opened


def wait_idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)


def pick_model(page, name: str, mode: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=name).first.click()
    page.wait_for_function(
        f"([n, m]) => {{ const p = document.querySelector('{PAD}');"
        f" return document.querySelectorAll('{PAD}').length === 1"  # the old model's pad (stale) has gone
        " && p && (p.dataset.modelKey || '').includes(n) && p.dataset.mode === m && Number(p.dataset.drawn) > 0; }",
        arg=[name, mode], timeout=60_000)
    wait_idle(page)


def drag(page, path: str, steps: int, wait_for_picture: bool) -> list[float]:
    """`steps` moves of slider z_0 back and forth in one drag; the pad's timings for `path` in ms."""
    page.evaluate(f"() => {{ window.__latentPadTimings['{path}'].length = 0; window.__latentPadTimings.roundTrip.length = 0; }}")
    box = page.locator(f'{PAD} input[type="range"][data-dim="0"]').bounding_box()
    left, right, y = box["x"] + 0.1 * box["width"], box["x"] + 0.9 * box["width"], box["y"] + box["height"] / 2
    x, dx = (left + right) / 2, box["width"] / 50
    page.mouse.move(x, y)
    page.mouse.down()
    for _ in range(steps):
        if not left <= x + dx <= right:
            dx = -dx
        x += dx
        count = page.evaluate(f"() => window.__latentPadTimings['{path}'].length")
        page.mouse.move(x, y)
        if wait_for_picture:
            page.wait_for_function(f"(n) => window.__latentPadTimings['{path}'].length > n", arg=count, timeout=10_000)
        else:
            page.wait_for_timeout(20)
    page.wait_for_timeout(100)  # the last rAF callbacks
    timings = page.evaluate(f"() => window.__latentPadTimings['{path}'].slice()")
    if wait_for_picture:
        trips = page.evaluate("() => window.__latentPadTimings.roundTrip.slice()")
        print(f"{'':<4}of which z sent -> data back from the server: p50 {np.percentile(trips, 50):.1f} ms, "
              f"p95 {np.percentile(trips, 95):.1f} ms (n={len(trips)})")
    page.mouse.up()
    wait_idle(page)
    return timings


def hover_map(page, url: str, steps: int) -> list[float]:
    """`steps` hover positions over the Latent map page's canvas, each waiting for its preview; ms."""
    page.goto(url + "latent_map")
    page.wait_for_selector('[data-testid="latent-map-hover"][data-ready="1"]', timeout=60_000)
    wait_idle(page)
    overlay = page.locator('[data-testid="latent-map-overlay"]')
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    page.evaluate("() => { window.__latentMapHoverTimings.length = 0; }")
    rng = np.random.default_rng(0)
    for fx, fy in rng.uniform(0.15, 0.85, size=(steps, 2)):
        count = page.evaluate("() => window.__latentMapHoverTimings.length")
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        page.wait_for_function("(n) => window.__latentMapHoverTimings.length > n", arg=count, timeout=10_000)
    return page.evaluate("() => window.__latentMapHoverTimings.slice()")


def summary(label: str, timings: list[float], target_ms: float) -> dict:
    p50, p95 = (float(np.percentile(timings, q)) for q in (50, 95)) if timings else (float("nan"),) * 2
    ok = bool(timings) and p95 <= target_ms
    print(f"{label:<44} n={len(timings):>4}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
          f"target p95 ≤ {target_ms:g} ms: {'PASS' if ok else 'FAIL'}")
    return {"label": label, "n": len(timings), "p50_ms": p50, "p95_ms": p95, "target_ms": target_ms, "passed": ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=120, help="drag steps per measured path (at least 100 for the issue)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print_header("Latent pad: input event -> new pixels on the canvas, in headless Chromium", machine_info())
    results = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as runs_dir:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        server, base = start_app(env={"VAE_RUNS_DIR": runs_dir})
        url = base + "/"
        try:
            cold_context, _, cold = open_page(browser, url)
            cold_context.close()
            context, page, warm = open_page(browser, url)
            wait_idle(page)
            print(f"page open -> first decoded picture: cold {cold:.2f} s (fresh server), warm {warm:.2f} s")
            results.append(summary("in-browser, vae-mlp-2d-mnist5k (default)", drag(page, "browser", args.steps, False),
                                   BROWSER_TARGET_MS))
            pick_model(page, "vae-mlp-20d-mnist5k", "browser")
            results.append(summary("in-browser, vae-mlp-20d-mnist5k", drag(page, "browser", args.steps, False),
                                   BROWSER_TARGET_MS))
            pick_model(page, "vae-conv-10d-shapes", "server")
            results.append(summary("server, vae-conv-10d-shapes", drag(page, "server", args.steps, True),
                                   SERVER_TARGET_MS))
            pick_model(page, "vae-mlp-2d-mnist5k", "browser")
            page.get_by_text("decode on the server").click()
            page.wait_for_function(f"() => document.querySelector('{PAD}')?.dataset.mode === 'server'", timeout=30_000)
            wait_idle(page)
            results.append(summary("server (forced), vae-mlp-2d-mnist5k", drag(page, "server", args.steps, True),
                                   SERVER_TARGET_MS))
            results.append(summary("in-browser hover on the latent map, 2-D MLP", hover_map(page, url, args.steps),
                                   BROWSER_TARGET_MS))
            context.close()
        finally:
            stop_app(server)
            browser.close()
    ok = all(r["passed"] for r in results)
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "latent_pad_latency", "cold_s": cold, "warm_s": warm,
                                         "paths": results, "passed": ok, "machine": machine_info()}, indent=2))
    worst = {k: max(r["p95_ms"] for r in results if r["label"].startswith(k)) for k in ("in-browser", "server")}
    print(f"result: p95 in-browser {worst['in-browser']:.1f} ms (≤ {BROWSER_TARGET_MS:g}), "
          f"server {worst['server']:.1f} ms (≤ {SERVER_TARGET_MS:g}): {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
