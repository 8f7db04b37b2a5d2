"""The Train form in real Chromium: Enter starts nothing, a refused value is said and starts nothing, and a job
belongs to the browser that started it (after a reload, in a new tab), not to another browser."""
import re

from tests.e2e.conftest import stop_button, wait_for_app

SERVER_LOAD = re.compile(r"On this server: (\d+) training, (\d+) waiting")


def server_load(page) -> tuple[int, int]:
    match = SERVER_LOAD.search(page.inner_text("body"))
    assert match, "the server-load caption is missing"
    return int(match.group(1)), int(match.group(2))


def settle(page) -> None:
    """Let a rerun the last key or click asked for begin, then wait for it to end."""
    page.wait_for_timeout(700)
    wait_for_app(page)


def test_enter_in_a_field_starts_no_job(page, app_url):
    page.goto(f"{app_url}/train")
    wait_for_app(page)
    for name in ("Epochs", "Learning rate"):
        field = page.get_by_role("spinbutton", name=name, exact=True)
        field.fill("3" if name == "Epochs" else "0.002")
        field.press("Enter")
        settle(page)
    run_name = page.get_by_role("textbox", name="Run name", exact=True)
    run_name.fill("typed-then-enter")
    run_name.press("Enter")
    settle(page)
    assert server_load(page) == (0, 0)
    assert stop_button(page).count() == 0
    assert page.get_by_text("Job '").count() == 0
    # The values were taken all the same: the field keeps them and the name stays the typed one.
    assert page.get_by_role("spinbutton", name="Epochs", exact=True).input_value() == "3"
    assert run_name.input_value() == "typed-then-enter"


def test_start_with_a_refused_value_says_so_under_the_field_and_starts_nothing(page, app_url):
    page.goto(f"{app_url}/train")
    wait_for_app(page)
    lr = page.get_by_role("spinbutton", name="Learning rate", exact=True)
    lr.fill("-0.01")
    page.get_by_role("button", name="Start training").click()
    settle(page)
    body = page.inner_text("body")
    assert "learning rate: expected a number in (0, 100], got -0.01" in body
    assert "Nothing was started" in body and "(Learning rate)" in body
    assert server_load(page) == (0, 0)
    # The message sits right under the learning rate, in the same column.
    box_lr = lr.bounding_box()
    message = page.get_by_text("learning rate: expected a number").bounding_box()
    assert abs(message["x"] - box_lr["x"]) < 40 and 0 < message["y"] - box_lr["y"] < 120


def test_a_job_is_the_starting_browsers_after_a_reload_and_in_a_new_tab_and_no_one_elses(browser, page, app_url):
    page.goto(f"{app_url}/train")
    wait_for_app(page)
    page.get_by_role("spinbutton", name="Epochs", exact=True).fill("500")
    page.get_by_role("textbox", name="Layer sizes (hidden sizes for mlp, channels for conv)").fill("16")
    page.get_by_role("textbox", name="Run name", exact=True).fill("owned-by-one-browser")
    page.get_by_role("button", name="Start training").click()
    stop_button(page).wait_for(timeout=60_000)

    page.reload()
    wait_for_app(page)
    stop_button(page).wait_for(timeout=30_000)
    assert "Job 'owned-by-one-browser'" in page.inner_text("body")

    tab = page.context.new_page()  # the same browser: its cookie goes with it
    tab.goto(f"{app_url}/train")
    wait_for_app(tab)
    stop_button(tab).wait_for(timeout=30_000)
    tab.close()

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        stranger = other.new_page()
        stranger.goto(f"{app_url}/train")
        wait_for_app(stranger)
        settle(stranger)
        assert server_load(stranger)[0] >= 1  # it sees that a job trains...
        assert stop_button(stranger).count() == 0  # ...but cannot stop it
        assert "owned-by-one-browser" not in stranger.get_by_role("main").inner_text()
    finally:
        other.close()

    stop_button(page).click()
    page.get_by_text("Stopped:").wait_for(timeout=60_000)
