import re

import pytest
import torch

from tests.explorer.train_page import browser_jobs, fill, messages, poll
from vae_core.runs.checkpoint import load_run, read_run_metrics


@pytest.fixture
def train_page(open_page):
    return open_page("page_scripts/train.py")


def test_form_has_every_field(train_page):
    at = train_page
    assert not at.exception and at.title[0].value == "Train"
    for key in ("dataset", "arch", "likelihood"):
        assert at.selectbox(key=f"train_{key}")
    for key in ("latent_dim", "c", "beta", "warmup_epochs", "epochs", "batch_size", "lr", "seed"):
        assert at.number_input(key=f"train_{key}")
    assert at.radio(key="train_kind").options == ["VAE", "AE", "CVAE"]
    assert at.text_input(key="train_run_name").value.startswith("vae-mlp-2d-digits")
    assert at.button(key="train_start").label == "Start training"


def test_invalid_values_are_refused_under_their_fields(train_page, tiny_runs_dir):
    at = train_page
    fill(at, lr=0.0, layers="512, lots", run_name="../escape", c=0.0, likelihood="gaussian")
    at.button(key="train_start").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("learning rate") for e in errors)
    assert any(e.startswith("hidden sizes") for e in errors)
    assert any(e.startswith("run name") for e in errors)
    assert not browser_jobs(at)
    fill(at, lr=1e-3, layers="32", run_name="conv-on-digits", arch="conv", likelihood="bernoulli", c=0.1)
    at.button(key="train_start").click().run()
    assert any(e.startswith("conv architecture") for e in (e.value for e in at.error))
    assert not (tiny_runs_dir / "conv-on-digits").exists()


def test_a_tiny_job_trains_to_the_end_and_can_be_selected(train_page, tiny_runs_dir):
    at = train_page
    fill(at, dataset="digits", layers="32", epochs=2, batch_size=64, run_name="app-tiny")
    at.button(key="train_start").click().run()
    assert not at.exception
    assert poll(at, lambda at: any(m.startswith("Finished") for m in messages(at))), messages(at)
    assert (tiny_runs_dir / "app-tiny").is_dir()
    select = [b for b in at.button if b.key and b.key.startswith("train_select_")][0]
    assert select.label == "Use this run on every page"
    select.click().run()
    assert at.session_state["model_path"] == str(tiny_runs_dir / "app-tiny")
    assert len(at.get("plotly_chart")) >= 3  # curves, KL per dimension, latent map
    # The saved run is in the sidebar's picker, selected, and stays so on another page.
    assert any(o.startswith("app-tiny · digits") for o in at.sidebar.selectbox[0].options)
    assert at.sidebar.selectbox[0].value == str(tiny_runs_dir / "app-tiny")
    at.switch_page("page_scripts/reconstruct.py").run()
    assert not at.exception and at.subheader[0].value == "VAE · app-tiny"


def epochs_shown(at) -> float:
    """The epochs the running job's progress bar reports ("1.2 of 2000 epochs · …"), 0 without one."""
    found = [re.match(r"([0-9.]+) of \d+ epochs", e.proto.text) for e in at.get("progress")]
    return max((float(m.group(1)) for m in found if m), default=0.0)


def start_then_stop(at, run_name: str, after_epochs: float = 0.0) -> None:
    """Start a long job, press Stop once its curves show (and `after_epochs` have passed), wait until it is saved."""
    fill(at, dataset="digits", layers="32", epochs=2000, batch_size=16, run_name=run_name)
    at.button(key="train_start").click().run()
    stop_buttons = lambda at: [b for b in at.button if b.key and b.key.startswith("train_stop_")]
    assert poll(at, lambda at: stop_buttons(at) and at.get("plotly_chart") and epochs_shown(at) >= after_epochs)
    stop_buttons(at)[0].click().run()
    assert poll(at, lambda at: any(m.startswith("Stopped") for m in messages(at))), messages(at)


def test_stop_mid_run_saves_what_was_trained(train_page, tiny_runs_dir):
    start_then_stop(train_page, "app-stopped")
    assert read_run_metrics(tiny_runs_dir / "app-stopped")["status"]["state"] == "stopped"


def test_an_ae_job_shows_its_reconstruction_curve_only(train_page):
    at = train_page
    fill(at, dataset="digits", kind="AE", layers="32", epochs=1, batch_size=64, run_name="app-ae")
    at.button(key="train_start").click().run()
    assert poll(at, lambda at: any(m.startswith("Finished") for m in messages(at))), messages(at)
    assert any("An AE has no KL" in c.value for c in at.caption)
    assert any(m.label == "test reconstruction" for m in at.metric)


def test_a_cvae_job_conditions_on_the_datasets_labels_and_shows_its_kl(train_page, tiny_runs_dir):
    at = train_page
    fill(at, dataset="digits", kind="CVAE", layers="32", epochs=1, batch_size=64, run_name="app-cvae")
    at.button(key="train_start").click().run()
    assert poll(at, lambda at: any(m.startswith("Finished") for m in messages(at))), messages(at)
    run = load_run(tiny_runs_dir / "app-cvae")
    assert run.model_config.kind == "cvae" and run.model_config.num_classes == 10
    assert any(m.label == "test −ELBO" for m in at.metric), [m.label for m in at.metric]
    assert len(at.get("plotly_chart")) >= 3  # curves, KL per dimension, the latent map encoded with labels


# When things go wrong or wait: a diverging job, and jobs queued behind the cap.

def test_a_diverging_job_says_why_and_its_run_stays_loadable(open_page, tiny_runs_dir):
    at = open_page("page_scripts/train.py")
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
    at = open_page("page_scripts/train.py")
    for name in ("queue-a", "queue-b", "queue-c"):
        fill(at, layers="16", epochs=2000, batch_size=16, run_name=name)
        at.button(key="train_start").click().run()
        assert not at.exception
    # The newest job is the one shown: third submitted, second in line behind the running one.
    assert any(m.startswith("Waiting: 2nd in line.") for m in messages(at)), messages(at)
    assert any("1 training, 2 waiting; at most 1 train at once" in c.value for c in at.caption)
    job_ids = browser_jobs(at)
    at.selectbox(key="train_job_picker").set_value(job_ids[1]).run()
    assert any(m.startswith("Waiting: 1st in line") for m in messages(at)), messages(at)
    # Stop them all from the page: the waiting ones are cancelled, the running one stops and is saved.
    for job_id in reversed(job_ids):
        at.selectbox(key="train_job_picker").set_value(job_id).run()
        at.button(key=f"train_stop_{job_id}").click().run()
    assert poll(at, lambda at: "0 training, 0 waiting" in " ".join(c.value for c in at.caption))


def test_a_stopped_run_is_continued_from_the_page(train_page, tiny_runs_dir):
    at = train_page
    start_then_stop(at, "app-continued", after_epochs=1.0)  # so a whole number of epochs is not more than it did
    run_dir = tiny_runs_dir / "app-continued"
    saved = read_run_metrics(run_dir)
    done = saved["steps"][-1]["epoch_progress"]
    assert done >= 1.0

    at.selectbox(key="train_continue_run").set_value(str(run_dir))
    at.number_input(key="train_continue_epochs").set_value(int(done))
    at.button(key="train_continue").click().run()
    assert not at.exception
    assert any(e.value.startswith("epochs: the run has trained") for e in at.error), [e.value for e in at.error]

    target = int(done) + 2
    at.number_input(key="train_continue_epochs").set_value(target).run()
    at.button(key="train_continue").click().run()
    assert not at.exception and not any(e.value.startswith("epochs:") for e in at.error)
    assert poll(at, lambda at: any(m.startswith("Finished") for m in messages(at))), messages(at)
    after = read_run_metrics(run_dir)
    assert after["status"]["state"] == "finished" and after["history"][-1]["epoch"] == target
    steps = [s["step"] for s in after["steps"]]
    assert steps == sorted(steps) and steps[0] == 1 and len(after["steps"]) > len(saved["steps"])
    assert load_run(run_dir).model_config.latent_dim == 2


# The form as a person uses it: the name follows the settings, values survive a page switch, refusals are all shown.

def test_the_run_name_follows_the_settings_until_one_is_typed(train_page, tiny_runs_dir):
    at = train_page
    assert at.text_input(key="train_run_name").value == "vae-mlp-2d-digits"
    fill(at, dataset="mnist5k", latent_dim=8)
    at.run()
    assert at.text_input(key="train_run_name").value == "vae-mlp-8d-mnist5k"
    fill(at, kind="AE")
    at.run()
    assert at.text_input(key="train_run_name").value == "ae-mlp-8d-mnist5k"
    fill(at, run_name="my-own-name")
    at.run()
    fill(at, dataset="digits")
    at.run()
    assert at.text_input(key="train_run_name").value == "my-own-name"


def test_the_settings_survive_a_switch_to_another_page(train_page):
    at = train_page
    fill(at, dataset="mnist5k", epochs=20, lr=0.005, layers="64")
    at.run()
    at.switch_page("page_scripts/explore.py").run()
    assert not at.exception
    at.switch_page("page_scripts/train.py").run()
    assert not at.exception
    assert at.selectbox(key="train_dataset").value == "mnist5k"
    assert at.number_input(key="train_epochs").value == 20
    assert at.number_input(key="train_lr").value == pytest.approx(0.005)
    assert at.text_input(key="train_layers").value == "64"
    assert at.text_input(key="train_run_name").value == "vae-mlp-2d-mnist5k"


def test_every_refused_field_shows_its_message_and_start_starts_nothing(train_page):
    at = train_page
    fill(at, lr=-0.01, epochs=0, beta=-1.0, latent_dim=0)
    at.run()
    errors = [e.value for e in at.error]
    for start in ("learning rate", "epochs", "beta", "latent dimension"):
        assert any(e.startswith(start) for e in errors), (start, errors)
    assert not any(e.startswith("Nothing was started") for e in errors)  # not before Start is pressed
    at.button(key="train_start").click().run()
    assert not browser_jobs(at)
    [summary] = [e.value for e in at.error if e.value.startswith("Nothing was started")]
    assert "Latent dimension d" in summary and "Learning rate" in summary
    fill(at, lr=1e-3, epochs=1, beta=1.0, latent_dim=2)
    at.run()
    assert not at.error
