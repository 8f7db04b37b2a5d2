"""The live latent pad in real Chromium: the browser's MLP decode agrees with torch, and the picture
changes while a slider is dragged (in the browser for MLPs, through the server for conv decoders)."""
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.e2e.conftest import wait_for_app
from vae_core.runs.checkpoint import load_run
from vae_core.serving.decoder_export import export_mlp_decoder

REPO = Path(__file__).resolve().parents[2]
DECODE_JS = REPO / "explorer" / "components" / "latent_pad" / "mlp_decode.js"
MODELS = REPO / "assets" / "models"
PAD = '[data-testid="latentPad"]'
CANVAS = '[data-testid="latentPadCanvas"]'

# A cheap fingerprint of the canvas pixels: equal pictures give equal numbers.
CANVAS_PIXELS = f"""() => {{
  const c = document.querySelector('{CANVAS}');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0, sum = 0;
  for (let i = 0; i < d.length; i += 4) {{ h = (Math.imul(h, 31) + d[i] + 7 * d[i + 1]) >>> 0; sum += d[i]; }}
  return [h, sum];
}}"""
DRAWN = f"() => Number(document.querySelector('{PAD}')?.dataset.drawn || 0)"


@pytest.mark.parametrize("name", ["vae-mlp-2d-mnist5k", "vae-mlp-20d-mnist5k"])
def test_the_browser_decode_matches_torch(page, name):
    model = load_run(MODELS / name, device="cpu").model.eval()
    export = export_mlp_decoder(model)
    generator = torch.Generator().manual_seed(0)
    d = export["latent_dim"]
    z = torch.cat([torch.zeros(1, d), torch.full((1, d), 3.0), torch.full((1, d), -3.0),
                   torch.randn(8, d, generator=generator) * 1.5])
    with torch.inference_mode():
        expected = model.decode(z).reshape(len(z), -1).numpy()
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(DECODE_JS))
    got = page.evaluate("([spec, zs]) => { const dec = loadMlpDecoder(spec); return zs.map((z) => Array.from(mlpDecode(dec, z))); }",
                        [export, z.tolist()])
    got = np.array(got, dtype=np.float64)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4


def open_explore(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.wait_for_function(f"() => ({DRAWN})() >= 1", timeout=30_000)


def slider(page, dim: int):
    return page.locator(f'{PAD} input[type="range"][data-dim="{dim}"]')


def drag_and_watch(page, dim: int, wait_for_new_frame: bool) -> tuple[list, list]:
    """Press on slider `dim` at its centre (z = 0), move right in steps, read the canvas between moves.

    Returns (canvas fingerprints seen during the drag, before pointer up; after)."""
    box = slider(page, dim).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    seen = [page.evaluate(CANVAS_PIXELS)]
    for step in range(1, 7):
        drawn = page.evaluate(DRAWN)
        page.mouse.move(x + step * box["width"] / 16, y)
        if wait_for_new_frame:  # the server's picture comes back a round trip later
            page.wait_for_function(f"(n) => ({DRAWN})() > n", arg=drawn, timeout=10_000)
        page.wait_for_timeout(50)
        seen.append(page.evaluate(CANVAS_PIXELS))
    page.mouse.up()
    return seen


def server_z(page) -> str:
    text = page.locator('[data-testid="stCaptionContainer"]', has_text="z on the server:").first.inner_text()
    return text.split("(", 1)[1].split(")", 1)[0]


def test_dragging_a_latent_slider_redraws_during_the_drag(page, app_url):
    open_explore(page, app_url)
    assert page.locator(PAD).get_attribute("data-mode") == "browser"
    assert slider(page, 0).count() == 1 and slider(page, 1).count() == 1
    assert page.get_by_text("z_0", exact=True).count() == 1
    assert server_z(page) == "+0.00, +0.00"

    seen = drag_and_watch(page, 0, wait_for_new_frame=False)
    # Every move before pointer up gave a new picture, decoded in this page.
    assert len({tuple(s) for s in seen}) == len(seen), seen
    timings = page.evaluate("() => window.__latentPadTimings.browser.length")
    assert timings >= 6

    # After release the server holds the final z, and the rest of the page shows it.
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
                           ".some((e) => /z on the server: \\(\\+[1-9]/.test(e.innerText))", timeout=20_000)
    wait_for_app(page)
    first = float(server_z(page).split(",")[0])
    value = float(slider(page, 0).input_value())
    assert first == pytest.approx(value, abs=0.011) and first > 0.5
    # The release redrew "Where z sits" in its place (only the pad's fragment reran): one copy of it.
    assert page.locator('[data-testid="stCaptionContainer"]', has_text="z on the server:").count() == 1
    assert page.get_by_text("Where z sits").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_conv_model_decodes_through_the_server_while_dragging(page, app_url):
    open_explore(page, app_url)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="vae-conv-10d-shapes").first.click()
    # Until the rerun ends the previous model's pad may linger beside the new one, marked stale.
    page.wait_for_function(f"() => document.querySelectorAll('{PAD}').length === 1"
                           f" && document.querySelector('{PAD}').dataset.mode === 'server'", timeout=60_000)
    wait_for_app(page)
    page.wait_for_function(f"() => ({DRAWN})() >= 1", timeout=30_000)
    assert slider(page, 9).count() == 1

    seen = drag_and_watch(page, 0, wait_for_new_frame=True)
    assert len({tuple(s) for s in seen}) >= 4, seen  # new server pictures arrived before pointer up
    assert page.evaluate("() => window.__latentPadTimings.server.length") >= 6
    assert page.locator('[data-testid="stException"]').count() == 0
