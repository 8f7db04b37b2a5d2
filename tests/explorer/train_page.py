"""Driving the Train page in AppTest: fill its fields, poll until a job gets somewhere, read its messages."""
import time

from explorer import state
from explorer.components.browser_token import SESSION_TOKEN_KEY


def fill(at, **values):
    for key, value in values.items():
        widget = at.text_input(key=f"train_{key}") if key in ("layers", "run_name") else None
        if widget is None:
            for finder in (at.number_input, at.selectbox, at.radio):
                try:
                    widget = finder(key=f"train_{key}")
                    break
                except KeyError:
                    continue
        widget.set_value(value)


def poll(at, until, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return True
        time.sleep(0.2)
    return False


def browser_jobs(at) -> list[str]:
    """The ids of the jobs this AppTest's browser started (AppTest runs no JS: its session's token stands in)."""
    return state.job_manager().job_ids(owner=at.session_state[SESSION_TOKEN_KEY])


def messages(at):
    return [e.value for e in [*at.success, *at.warning, *at.error, *at.info]]
