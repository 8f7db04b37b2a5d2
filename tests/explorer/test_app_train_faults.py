"""The Train page when things go wrong or wait: a diverging job, and jobs queued behind the cap."""
import time

import torch

from vae_core.checkpoint import load_run


def fill(at, **values):
    for key, value in values.items():
        finder = at.text_input if key in ("layers", "run_name") else at.number_input
        finder(key=f"train_{key}").set_value(value)


def poll(at, until, timeout=90.0):
    end = time.time() + timeout
    while time.time() < end:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return True
        time.sleep(0.2)
    return False


def messages(at):
    return [e.value for e in [*at.success, *at.warning, *at.error, *at.info]]


def test_a_diverging_job_says_why_and_its_run_stays_loadable(open_page, tiny_runs_dir):
    at = open_page("pages/train.py")
    fill(at, layers="16", epochs=3, batch_size=64, lr=10.0, run_name="app-lr10")
    at.button(key="train_start").click().run()
    assert poll(at, lambda at: any(m.startswith("Training diverged") for m in messages(at))), messages(at)
    [message] = [m for m in messages(at) if m.startswith("Training diverged")]
    assert "NaN" in message and "Try a smaller learning rate (now 10, e.g. 1)" in message
    assert "saved as 'app-lr10'" in message
    run = load_run(tiny_runs_dir / "app-lr10")
    assert all(torch.isfinite(v).all() for v in run.model.state_dict().values())


def test_jobs_beyond_the_cap_show_their_place_in_line(open_page, monkeypatch):
    monkeypatch.setenv("VAE_MAX_TRAINING_JOBS", "1")  # a cap of its own, so a fresh JobManager
    at = open_page("pages/train.py")
    for name in ("queue-a", "queue-b", "queue-c"):
        fill(at, layers="16", epochs=2000, batch_size=16, run_name=name)
        at.button(key="train_start").click().run()
        assert not at.exception
    # The newest job is the one shown: third submitted, second in line behind the running one.
    assert any(m.startswith("Waiting: 2nd in line.") for m in messages(at)), messages(at)
    assert any("1 training, 2 waiting; at most 1 train at once" in c.value for c in at.caption)
    job_ids = list(at.session_state["train_job_ids"])
    at.selectbox(key="train_viewed_job").set_value(job_ids[1]).run()
    assert any(m.startswith("Waiting: 1st in line") for m in messages(at)), messages(at)
    # Stop them all from the page: the waiting ones are cancelled, the running one stops and is saved.
    for job_id in reversed(job_ids):
        at.selectbox(key="train_viewed_job").set_value(job_id).run()
        at.button(key=f"train_stop_{job_id}").click().run()
    assert poll(at, lambda at: "0 training, 0 waiting" in " ".join(c.value for c in at.caption))
