"""A training run started from the Train page grows its curves and stops; a bad upload is refused. Real Chromium."""
import re
import time

import pytest

from tests.e2e.conftest import REPO, stop_button, wait_for_app

# The number of points on the training curves' per-step trace, read from plotly's graph div.
STEP_POINTS = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const trace = (gd.data || []).find(t => t.name === 'train, per step');
    if (trace) return trace.x.length;
  }
  return 0;
}"""


def poll(read, ok, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    value = read()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.25)
        value = read()
    return value


def epochs_done(page) -> float:
    """The "1.2 of 200 epochs" counter under the progress bar, or -1 when it is not shown."""
    match = re.search(r"(\d+(?:\.\d+)?) of \d+ epochs", page.inner_text("body"))
    return float(match.group(1)) if match else -1.0


def test_a_training_run_grows_its_curves_and_can_be_stopped(page, app_url):
    page.goto(f"{app_url}/train")
    wait_for_app(page)
    # Many epochs of the small offline set, so the run is still going when we read it twice and stop it.
    assert page.get_by_role("combobox", name="Dataset", exact=True).input_value() == "digits"
    page.get_by_role("spinbutton", name="Epochs", exact=True).fill("500")
    page.get_by_role("textbox", name="Layer sizes (hidden sizes for mlp, channels for conv)").fill("32")
    page.get_by_role("button", name="Start training").click()
    stop_button(page).wait_for(timeout=60_000)

    first_points = poll(lambda: page.evaluate(STEP_POINTS), lambda n: n > 0, 90)
    first_epoch = epochs_done(page)
    assert first_points > 0, f"no training curve appeared; the page says: {page.inner_text('body')[:2000]}"
    second_points = poll(lambda: page.evaluate(STEP_POINTS), lambda n: n > first_points, 30)
    assert second_points > first_points, "the per-step curve did not grow"
    second_epoch = poll(lambda: epochs_done(page), lambda e: e > first_epoch, 30)
    assert second_epoch > first_epoch >= 0, "the epoch counter did not advance"

    stop_button(page).click()
    page.get_by_text("Stopped:").wait_for(timeout=60_000)
    assert "The run so far is saved as" in page.inner_text("body")
    # The fragment shows "Stopped" first; the full rerun that follows drops the Stop button.
    assert poll(lambda: stop_button(page).count(), lambda n: n == 0, 30) == 0
    assert page.locator('[data-testid="stException"]').count() == 0


GOOD_CONFIG = (REPO / "assets" / "models" / "vae-mlp-2d-mnist5k" / "config.json").read_bytes()


@pytest.mark.parametrize(
    "files, message",
    [
        # A valid config with a text file posing as the weights: the weights are refused, not the config.
        ([("config.json", GOOD_CONFIG), ("model.safetensors", b"this is a text file, not safetensors\n")],
         "model.safetensors is corrupt"),
        ([("run.zip", b"PK\x03\x04 definitely not a whole zip archive")], "run.zip is not a valid zip file"),
    ],
    ids=["text-as-safetensors", "bad-zip"],
)
def test_a_bad_upload_shows_an_error(page, app_url, files, message):
    page.goto(f"{app_url}/")
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Upload a run").click()
    chooser = sidebar.locator('input[type="file"]')
    chooser.set_input_files(files=[{"name": n, "mimeType": "application/octet-stream", "buffer": b} for n, b in files])
    error = sidebar.locator('[data-testid="stAlertContentError"]')
    error.wait_for(timeout=30_000)
    assert message in error.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    # The old model stays selected.
    assert sidebar.get_by_role("combobox", name="Model", exact=True).input_value().startswith("vae-mlp-2d-mnist5k")
