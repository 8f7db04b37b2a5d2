"""Every page of the real app loads in Chromium with no exception text on it."""
import pytest

from tests.e2e.conftest import wait_for_app

PAGES = ["", "latent_map", "reconstruct", "train", "learn"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_without_an_exception(page, app_url, path):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    page.wait_for_timeout(500)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert page.locator('[data-testid="stSidebar"]').count() == 1
