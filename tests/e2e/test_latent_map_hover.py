"""The latent map's hover preview and click-to-pin in real Chromium, on the default 2-D MLP VAE."""
import json
import re
import time

from tests.e2e.conftest import wait_for_app

PREVIEW_PIXELS = "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"


def open_map(page, app_url=None):
    """The map's overlay canvas and its box; goes to the page first when app_url is given."""
    if app_url is not None:
        page.goto(f"{app_url}/latent_map")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="latent-map-hover"][data-ready="1"]', timeout=60_000)
    overlay = page.locator('[data-testid="latent-map-overlay"]')
    overlay.scroll_into_view_if_needed()
    return overlay, overlay.bounding_box()


def poll(read, ok, timeout_s: float = 10):
    """read() until ok(value) or the time is up; returns the last value."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def hover(page, box, fx, fy, previous_count):
    """Move the mouse to a fraction of the map's box; wait until the component has drawn a new preview."""
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=3)
    root = page.locator('[data-testid="latent-map-hover"]')
    count = poll(lambda: int(root.get_attribute("data-hover-count") or 0), lambda n: n > previous_count)
    assert count > previous_count, "the hover drew no preview"
    return count


def test_hovering_two_places_shows_two_different_decoded_images(page, app_url):
    _, box = open_map(page, app_url)
    preview = page.locator('[data-testid="latent-map-preview"]')
    readout = page.locator('[data-testid="latent-map-readout"]')

    count = hover(page, box, 0.25, 0.3, 0)
    first_pixels, first_text = preview.evaluate(PREVIEW_PIXELS), readout.inner_text()
    hover(page, box, 0.75, 0.7, count)
    second_pixels, second_text = preview.evaluate(PREVIEW_PIXELS), readout.inner_text()

    assert first_text.startswith("decoded at") and second_text.startswith("decoded at") and first_text != second_text
    assert max(first_pixels) > 0, "the first preview is blank"
    changed = sum(a != b for a, b in zip(first_pixels, second_pixels))
    assert changed > 0.05 * len(first_pixels), f"only {changed} of {len(first_pixels)} preview bytes changed"
    assert "browser" in page.inner_text("body")  # the page says where the decoding happens


def test_a_click_pins_the_point_on_the_map_and_on_the_server(page, app_url):
    overlay, box = open_map(page, app_url)
    assert overlay.get_attribute("data-pinned") in (None, "")
    page.mouse.click(box["x"] + 0.6 * box["width"], box["y"] + 0.55 * box["height"])

    # The marker: the overlay canvas records the pin and has red pixels where the ring is drawn.
    pinned = poll(lambda: overlay.get_attribute("data-pinned"), bool)
    assert pinned, "the click pinned nothing"
    x, y = (float(v) for v in pinned.split(","))
    red = overlay.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] > 180 && d[i + 1] < 60 && d[i + 3] > 0) n++; return n; }")  # fmt: skip
    assert red > 20, "no pin marker drawn"
    assert page.locator('[data-testid="latent-map-pinned-readout"]').inner_text().startswith("decoded at")

    # The server got the same z: the page shows it with the nearest training image.
    readout = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Pinned z")
    readout.wait_for(timeout=30_000)
    wait_for_app(page)
    shown = readout.inner_text()
    z = [float(v) for v in re.search(r"\(([^)]*)\)", shown).group(1).split(",")]
    assert max(abs(z[0] - x), abs(z[1] - y)) < 1e-3, (shown, x, y)
    page.get_by_text("pixel distance to the nearest training image").wait_for(timeout=30_000)
    body = page.inner_text("body")
    assert "nearest training image #" in body and "pixel distance to the nearest training image" in body
    assert page.locator('[data-testid="stException"]').count() == 0


def test_after_pca_hovering_shows_the_nearest_points_reconstruction_and_says_so(page, app_url):
    page.goto(f"{app_url}/latent_map")
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Model", exact=True).click()
    page.get_by_role("option", name=re.compile("vae-mlp-20d-mnist5k")).click()
    wait_for_app(page)
    note = page.locator(".lmh-note").filter(has_text="not the latent space")  # the component says so
    note.wait_for(timeout=60_000)
    _, box = open_map(page)
    hover(page, box, 0.5, 0.5, 0)
    assert re.match(r"nearest test image #\d+ \(class \d\): its reconstruction",
                    page.locator('[data-testid="latent-map-readout"]').inner_text())  # fmt: skip
    assert "PCA" in note.inner_text()


def test_a_conv_models_hover_grid_is_decoded_again_over_the_zoomed_view(page, app_url):
    page.goto(f"{app_url}/latent_map")
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Model", exact=True).click()
    page.get_by_role("option", name=re.compile("vae-conv-10d-shapes")).click()
    wait_for_app(page)
    page.get_by_test_id("stRadioGroup").get_by_text("two latent dimensions", exact=True).click()
    page.locator(".lmh-note").filter(has_text="grid decoded on the server over the initial view").wait_for(timeout=60_000)
    overlay, box = open_map(page)
    root = page.locator('[data-testid="latent-map-hover"]')
    x0, x1, y0, y1 = json.loads(root.get_attribute("data-grid-box"))

    # Zoom in around the centre: the server sends a grid over the smaller visible box.
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
    for _ in range(4):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(50)
    zoomed = poll(lambda: json.loads(root.get_attribute("data-grid-box")), lambda b: b[1] - b[0] < 0.5 * (x1 - x0), 60)
    assert zoomed[1] - zoomed[0] < 0.5 * (x1 - x0) and zoomed[3] - zoomed[2] < 0.5 * (y1 - y0), zoomed
    assert x0 < zoomed[0] < zoomed[1] < x1 and y0 < zoomed[2] < zoomed[3] < y1
    page.locator(".lmh-note").filter(has_text="the part of the map in view").wait_for(timeout=30_000)

    # Hovering now reads the finer grid: the cell named lies inside the zoomed box.
    hover(page, box, 0.4, 0.6, int(root.get_attribute("data-hover-count") or 0))
    text = page.locator('[data-testid="latent-map-readout"]').inner_text()
    cell = [float(v) for v in re.search(r"grid cell ([-+\d.]+), ([-+\d.]+)", text).groups()]
    assert zoomed[0] - 0.01 <= cell[0] <= zoomed[1] + 0.01 and zoomed[2] - 0.01 <= cell[1] <= zoomed[3] + 0.01, (text, zoomed)  # shown to 2 decimals
    assert page.locator('[data-testid="stException"]').count() == 0
