import threading
import time

import pytest
import torch

from explorer.server.training_jobs import JobManager, format_epochs, format_eta, max_jobs_from_env, ordinal
from vae_core.models import ModelConfig
from vae_core.runs.checkpoint import load_run, read_run_metrics
from vae_core.runs.registry import list_runs
from vae_core.training.config import TrainConfig

TINY = ModelConfig(latent_dim=2, hidden_sizes=(32,), image_shape=(1, 8, 8))


def recipe(epochs=2, **kw):
    return TrainConfig(epochs=epochs, batch_size=64, device="cpu", **kw)


def wait_for(predicate, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_job_trains_saves_and_records_everything(tmp_path):
    manager = JobManager(tmp_path, max_running=2)
    job_id = manager.submit(TINY, recipe(), "digits", "tiny vae")
    assert manager.wait(job_id, timeout=60)
    view = manager.view(job_id)
    assert view.state == "finished" and view.saved and view.progress == 1.0 and view.eta_s is None
    assert view.name == "tiny-vae" and (tmp_path / "tiny-vae").is_dir()
    assert [r["epoch"] for r in view.history] == [1, 2] and view.history[-1]["test"]["neg_elbo"] > 0
    assert len(view.steps) == view.history[-1]["step"]
    assert [s.epoch for s in view.snapshots] == [0.0, 1.0, 2.0]
    assert view.snapshots[-1].points.shape == (len(view.labels), 2) and view.class_names[0] == "0"
    assert view.snapshots[-1].method == "identity" and view.snapshots[-1].axis_titles == ("z₁", "z₂")
    assert load_run(tmp_path / "tiny-vae").model_config.latent_dim == 2


def test_the_snapshots_of_more_than_two_dims_are_the_pca_of_the_codes(tmp_path):
    manager = JobManager(tmp_path, max_running=1)
    job_id = manager.submit(ModelConfig(latent_dim=4, hidden_sizes=(16,), image_shape=(1, 8, 8)), recipe(epochs=1),
                            "digits", "tiny-4d")  # fmt: skip
    assert manager.wait(job_id, timeout=60)
    snapshot = manager.view(job_id).snapshots[-1]
    assert snapshot.method == "pca" and snapshot.axis_titles == ("PC 1 of μ", "PC 2 of μ")
    assert snapshot.points.shape[1] == 2


def test_cap_two_five_jobs_two_run_three_wait_all_finish(tmp_path):
    manager = JobManager(tmp_path, max_running=2)
    ids = [manager.submit(TINY, recipe(epochs=3), "digits", f"run-{i}") for i in range(5)]
    views = [manager.view(i) for i in ids]
    assert [v.queue_position for v in views] == [None, None, 1, 2, 3]
    assert all(v.state in ("starting", "running") for v in views[:2])
    assert all(v.state == "queued" for v in views[2:])
    peak = 0
    while not all(manager.view(i).done for i in ids):
        peak = max(peak, sum(manager.view(i).state in ("starting", "running") for i in ids))
        time.sleep(0.01)
    assert peak <= 2
    assert [manager.view(i).state for i in ids] == ["finished"] * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"run-{i}" for i in range(5)]


def test_stop_mid_run_saves_a_stopped_run_and_cancel_skips_a_waiting_one(tmp_path):
    manager = JobManager(tmp_path, max_running=1)
    long_id = manager.submit(TINY, recipe(epochs=500), "digits", "long")
    waiting_id = manager.submit(TINY, recipe(), "digits", "waiting")
    assert wait_for(lambda: len(manager.view(long_id).steps) >= 3)
    manager.stop(waiting_id)
    assert manager.view(waiting_id).state == "cancelled"
    manager.stop(long_id)
    assert manager.wait(long_id, timeout=30)
    view = manager.view(long_id)
    assert view.state == "stopped" and view.saved and view.progress < 1
    assert read_run_metrics(tmp_path / "long")["status"]["state"] == "stopped"
    assert not (tmp_path / "waiting").exists()


def test_taken_names_are_refused_and_failures_are_reported(tmp_path):
    manager = JobManager(tmp_path, max_running=2)
    first = manager.submit(TINY, recipe(epochs=1), "digits", "same")
    with pytest.raises(ValueError, match="run name 'same'"):
        manager.submit(TINY, recipe(epochs=1), "digits", "same")
    with pytest.raises(ValueError, match="run name"):
        manager.submit(TINY, recipe(epochs=1), "digits", "../escape")
    bad = manager.submit(TINY, recipe(epochs=1), "no-such-dataset", "bad")
    assert manager.wait(bad, timeout=30) and manager.wait(first, timeout=60)
    view = manager.view(bad)
    assert view.state == "failed" and "dataset" in view.message.lower() and not view.saved
    assert manager.view("job-unknown") is None


def test_divergence_stops_with_an_explanation(tmp_path, monkeypatch):
    import vae_core.training.run as training_run

    real_train = training_run.train

    def train_with_nan_weights(model, dataset, config, callback, stop_event):
        # Adam rarely diverges on a tiny model, so NaN is put into the weights in epoch 2.
        def poison(record):
            callback(record)
            if record["kind"] == "step" and record["epoch"] == 1:
                with torch.no_grad():
                    model.decoder.body[0].weight.fill_(float("nan"))

        return real_train(model, dataset, config, callback=poison, stop_event=stop_event)

    monkeypatch.setattr(training_run, "train", train_with_nan_weights)
    manager = JobManager(tmp_path, max_running=1)
    job_id = manager.submit(TINY, recipe(epochs=3), "digits", "blows-up")
    assert manager.wait(job_id, timeout=60)
    view = manager.view(job_id)
    assert view.state == "diverged" and "NaN" in view.message and "learning rate" in view.message
    assert view.saved and read_run_metrics(tmp_path / "blows-up")["status"]["state"] == "diverged"


def test_old_finished_jobs_are_forgotten_but_their_runs_stay(tmp_path, monkeypatch):
    import explorer.server.training_jobs as training_jobs

    monkeypatch.setattr(training_jobs, "MAX_KEPT_DONE_JOBS", 1)
    manager = JobManager(tmp_path, max_running=1)
    first = manager.submit(TINY, recipe(epochs=1), "digits", "first")
    assert manager.wait(first, timeout=60)
    second = manager.submit(TINY, recipe(epochs=1), "digits", "second")
    assert manager.wait(second, timeout=60)
    manager.submit(TINY, recipe(epochs=1), "digits", "third")
    assert manager.view(first) is None and manager.view(second) is not None
    assert (tmp_path / "first").is_dir()
    with pytest.raises(ValueError, match="already exists"):
        manager.submit(TINY, recipe(epochs=1), "digits", "first")


def test_env_cap_and_text_helpers(monkeypatch):
    monkeypatch.delenv("VAE_MAX_TRAINING_JOBS", raising=False)
    assert max_jobs_from_env() == 2
    monkeypatch.setenv("VAE_MAX_TRAINING_JOBS", "3")
    assert max_jobs_from_env() == 3
    monkeypatch.setenv("VAE_MAX_TRAINING_JOBS", "lots")
    with pytest.raises(ValueError, match="VAE_MAX_TRAINING_JOBS"):
        max_jobs_from_env()
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 22)] == ["1st", "2nd", "3rd", "4th", "11th", "22nd"]
    assert format_eta(75) == "about 1 min 15 s left" and format_eta(None) == ""


def test_five_jobs_with_cap_two_queue_in_order_and_never_run_more_than_two(tmp_path, monkeypatch):
    import explorer.server.training_jobs as training_jobs

    real_train_run, lock, inside, peak = training_jobs.train_run, threading.Lock(), [0], [0]

    def counted_train_run(*args, **kwargs):
        # Counts the jobs inside train_run at once: exact, where polling the states could miss a moment.
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        try:
            return real_train_run(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(training_jobs, "train_run", counted_train_run)
    manager = JobManager(tmp_path, max_running=2)
    ids = [manager.submit(TINY, recipe(epochs=2), "digits", f"capped-{i}") for i in range(5)]
    assert [manager.view(i).queue_position for i in ids] == [None, None, 1, 2, 3]
    seen_positions = {i: [] for i in ids[2:]}
    while not all(manager.view(i).done for i in ids):
        for i in ids[2:]:
            seen_positions[i].append(manager.view(i).queue_position)
        time.sleep(0.01)
    assert peak[0] <= 2
    for positions in seen_positions.values():  # a waiting job only moves forward, then starts
        waiting = [p for p in positions if p is not None]
        assert waiting == sorted(waiting, reverse=True) and positions[-1] is None
    views = [manager.view(i) for i in ids]
    assert [v.state for v in views] == ["finished"] * 5 and all(v.saved for v in views)
    assert [v.started_at for v in views[2:]] == sorted(v.started_at for v in views[2:])  # first come, first served
    assert sorted(s.name for s in list_runs(tmp_path)) == [f"capped-{i}" for i in range(5)]
    assert all(load_run(tmp_path / f"capped-{i}").metrics["status"]["state"] == "finished" for i in range(5))


def test_two_servers_never_train_into_one_name(tmp_path):
    first, second = JobManager(tmp_path, max_running=1), JobManager(tmp_path, max_running=1)
    shared = first.submit(TINY, recipe(epochs=500), "digits", "shared")
    with pytest.raises(ValueError, match="run name 'shared': a run with this name is being trained right now"):
        second.submit(TINY, recipe(epochs=1), "digits", "shared")
    # A job waiting in one server's queue holds its name too; cancelling it gives the name back.
    blocker = second.submit(TINY, recipe(epochs=500), "digits", "blocker")
    waiting = second.submit(TINY, recipe(epochs=1), "digits", "later")
    with pytest.raises(ValueError, match="run name 'later'"):
        first.submit(TINY, recipe(epochs=1), "digits", "later")
    second.stop(waiting)
    first.stop(shared)
    assert first.wait(shared, timeout=60)
    later = first.submit(TINY, recipe(epochs=1), "digits", "later")
    with pytest.raises(ValueError, match="run name 'shared': a run with this name already exists"):
        second.submit(TINY, recipe(epochs=1), "digits", "shared")
    second.stop(blocker)
    assert first.wait(later, timeout=60) and second.wait(blocker, timeout=60)
    assert sorted(s.name for s in list_runs(tmp_path)) == ["blocker", "later", "shared"]
    assert all(s.error is None for s in list_runs(tmp_path))
    assert {p.name for p in tmp_path.iterdir()} == {"blocker", "later", "shared"}  # claims leave nothing behind


def test_a_failed_job_gives_its_name_back(tmp_path):
    manager = JobManager(tmp_path, max_running=1)
    bad = manager.submit(TINY, recipe(epochs=1), "no-such-dataset", "retry-me")
    assert manager.wait(bad, timeout=30) and manager.view(bad).state == "failed"
    good = manager.submit(TINY, recipe(epochs=1), "digits", "retry-me")
    assert manager.wait(good, timeout=60) and manager.view(good).state == "finished"


def test_clearing_streamlits_caches_keeps_the_servers_jobs(tmp_path):
    import streamlit as st

    from explorer.server.training_jobs import server_job_manager

    manager = server_job_manager(str(tmp_path), 2)
    st.cache_resource.clear()  # what any browser's clear-cache message does
    st.cache_data.clear()
    assert server_job_manager(str(tmp_path), 2) is manager
    assert server_job_manager(str(tmp_path), 3) is not manager  # another cap is another manager


def test_a_stopped_run_is_continued_with_its_curves_and_refusals_say_why(tmp_path):
    manager = JobManager(tmp_path, max_running=1)
    first = manager.submit(TINY, recipe(epochs=1), "digits", "to continue")
    # Not manager.wait: the page sees only the view, and a job shown as ended has given its name back.
    assert wait_for(lambda: manager.view(first).done, timeout=60)
    run_dir = tmp_path / "to-continue"
    before = read_run_metrics(run_dir)
    assert [r["epoch"] for r in before["history"]] == [1]

    with pytest.raises(ValueError, match=r"^epochs: the run has trained 1 epochs; ask for more"):
        manager.submit_resume(run_dir, 1)
    with pytest.raises(ValueError, match=r"^run 'elsewhere': only runs in the runs folder"):
        manager.submit_resume(tmp_path / "sub" / "elsewhere", 3)

    job_id = manager.submit_resume(run_dir, 3)
    started = manager.view(job_id)
    assert started.name == "to-continue" and len(started.steps) == len(before["steps"])  # the saved curve comes first
    with pytest.raises(ValueError, match=r"^run 'to-continue': another session is training it"):
        manager.submit_resume(run_dir, 4)  # the job holds the run's claim until it has saved
    assert manager.wait(job_id, timeout=60)
    view = manager.view(job_id)
    assert view.state == "finished" and view.saved and view.progress == 1.0
    assert [r["epoch"] for r in view.history] == [1, 2, 3]
    steps = [s["step"] for s in view.steps]
    assert steps == list(range(1, len(steps) + 1))  # one curve, no gap where it was continued
    after = read_run_metrics(run_dir)
    assert [r["epoch"] for r in after["history"]] == [1, 2, 3] and after["status"]["epochs_done"] == 3
    assert [s.epoch for s in view.snapshots] == [1.0, 2.0, 3.0]  # the map replay starts where the run stopped
    assert list_runs(tmp_path)[0].name == "to-continue"


def test_only_the_browser_that_started_a_job_can_stop_it(tmp_path):
    manager = JobManager(tmp_path, max_running=1)
    mine = manager.submit(TINY, recipe(epochs=500), "digits", "mine", owner="a" * 32)
    theirs = manager.submit(TINY, recipe(epochs=1), "digits", "theirs", owner="b" * 32)
    assert manager.job_ids(owner="a" * 32) == [mine] and manager.job_ids(owner="b" * 32) == [theirs]
    assert manager.job_ids() == [mine, theirs]
    with pytest.raises(PermissionError, match="another browser"):
        manager.stop(mine, owner="b" * 32)
    assert manager.view(mine).state in ("starting", "running")
    manager.stop(theirs, owner="b" * 32)
    manager.stop(mine, owner="a" * 32)
    assert manager.wait(mine, timeout=60) and manager.view(theirs).state == "cancelled"


@pytest.mark.parametrize("epochs, text", [(9.19444, "9.1"), (9.25, "9.2"), (20.0, "20"), (0.0, "0"), (0.046, "0.04"), (0.99, "0.9"), (3.0000001, "3")])
def test_epochs_read_as_people_write_them(epochs, text):
    assert format_epochs(epochs) == text
