"""Real-browser fixtures: a `streamlit run explorer/app.py` server on a free loopback port and
Debian's Chromium driven by Playwright. Every test here is marked e2e; CI runs them all."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.app_server import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Base URL of a headless app server on the shipped models, with its own empty runs folder."""
    runs = tmp_path_factory.mktemp("e2e-runs")
    log = open(tmp_path_factory.mktemp("e2e-log") / "server.log", "w")
    try:
        server, url = start_app(env={"VAE_RUNS_DIR": str(runs), "VAE_MAX_TRAINING_JOBS": "2"}, log=log)
    except RuntimeError as e:
        log.close()
        pytest.fail(str(e))
    yield url
    stop_app(server)
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; a screenshot lands in artifacts/e2e/ (git-ignored) afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


def wait_for_app(page, timeout_s: float = 60) -> None:
    """Wait until Streamlit has finished running the page's script.

    The app's root says where its script run is (`data-test-script-state`: initial, running, notRunning, ...).
    Its status widget is no signal: it shows only after a run has taken 500 ms, so a page in its first half
    second looks finished, and a click then may land on a form that is still being drawn."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_s * 1000)
    page.wait_for_selector('[data-testid="stHeading"]', timeout=timeout_s * 1000)


def stop_button(page):
    """A training job's Stop button. Not the status widget's (which stops a script run), shown whenever a run
    or a fragment run takes over half a second."""
    return page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True)
