"""The Explore page in a headless app: sliders decode, buttons move them, traversal and interpolation render.

The live latent pad's JavaScript needs a browser (tests/e2e/test_latent_pad.py); here it is checked
through the data it is given, and the rest through the "classic sliders" (st.slider) it falls back to.
"""
import base64
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.figures import upscale_nearest
from tests.explorer.conftest import APP_PATH
from vae_core import analysis
from vae_core.data import dataset_info, load_dataset
from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.format import empty_metrics

APP = str(APP_PATH)


def start(timeout=60, classic=True):
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    assert not at.exception, [e.message for e in at.exception]
    if classic:
        at.toggle(key="explore_classic_sliders").set_value(True).run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def pad_data(at):
    """The data the latent pad component was given in the last run."""
    (pad,) = [e for e in at.get("bidi_component") if e.proto.component_name == "vae_explorer.latent_pad"]
    return json.loads(pad.proto.json)


def decoded(at):
    return np.array(at.session_state["explore_decoded"])


def test_explore_renders_sliders_image_and_buttons(tiny_runs_dir):
    at = start()
    assert [s.key for s in at.slider][:2] == ["z_0", "z_1"]
    assert at.slider(key="z_0").min == -3.0 and at.slider(key="z_0").max == 3.0
    labels = [b.label for b in at.button]
    assert {"Sample from prior", "Reset to 0", "Start from a real image"} <= set(labels)
    assert at.radio(key="explore_interp_method").options == ["linear", "spherical (slerp)"]
    assert len(at.image) >= 3  # decoded image, interpolation endpoints, decoded steps
    assert decoded(at).shape == (280, 280)  # 8×8 digits, upscaled 35× without smoothing
    assert at.sidebar.selectbox[0].value.endswith("vae-mlp-2d-digits")


def test_moving_a_slider_changes_the_decoded_image(tiny_runs_dir):
    at = start()
    before = decoded(at)
    at.slider(key="z_0").set_value(2.5).run()
    assert not at.exception
    after = decoded(at)
    assert at.session_state["explore_z"][0] == 2.5
    assert not np.array_equal(before, after)


def test_the_decoded_image_is_the_decoder_mean_at_the_sliders(tiny_model_dirs, tiny_runs_dir):
    at = start()
    at.slider(key="z_1").set_value(-1.25).run()
    model = load_run(tiny_model_dirs[0] / "vae-mlp-2d-digits").model
    with torch.inference_mode():
        expected = model.decode(torch.tensor([[0.0, -1.25]]))[0]
    assert np.array_equal(decoded(at), upscale_nearest(expected, 35))


def test_buttons_move_the_sliders(tiny_model_dirs, tiny_runs_dir):
    at = start()
    next(b for b in at.button if b.label == "Sample from prior").click().run()
    z = at.session_state["explore_z"]
    assert z != [0.0, 0.0] and all(-3 <= v <= 3 for v in z)
    assert [at.slider(key=f"z_{i}").value for i in range(2)] == z
    next(b for b in at.button if b.label == "Reset to 0").click().run()
    assert at.session_state["explore_z"] == [0.0, 0.0]

    at.number_input(key="explore_pick_index").set_value(7).run()
    next(b for b in at.button if b.label == "Start from a real image").click().run()
    assert not at.exception
    run = load_run(tiny_model_dirs[0] / "vae-mlp-2d-digits")
    data = load_dataset("digits", seed=0)
    mu, _ = analysis.encode_dataset(run.model, data.test_x[7:8])
    expected = np.clip(mu[0].numpy(), -3, 3)
    assert at.session_state["explore_z"] == pytest.approx(expected, abs=0.006)  # the sliders' 0.01 grid
    assert "test image #7" in " ".join(c.value for c in at.caption)


def slider_dims(at):
    return sorted(int(s.key[2:]) for s in at.slider if s.key.startswith("z_"))


def test_more_than_16_dims_get_16_sliders_and_a_chooser(tmp_path, monkeypatch, tiny_model_dirs):
    model = build_model(ModelConfig(latent_dim=20, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    info = dataset_info(load_dataset("digits"), 0)
    save_run(tmp_path / "wide", model, train_config=None, dataset_info=info, metrics=empty_metrics())
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(tmp_path / "no-assets"))
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    at = start()
    assert slider_dims(at) == list(range(16))
    chooser = at.multiselect(key="explore_slider_dims")
    assert chooser.value == list(range(16))
    chooser.set_value([0, 18]).run()
    assert not at.exception
    assert slider_dims(at) == [0, 18]
    before = decoded(at)
    at.slider(key="z_18").set_value(-2.0).run()
    assert at.session_state["explore_z"][18] == -2.0 and not np.array_equal(before, decoded(at))


def test_an_ae_renders_with_a_note_about_its_missing_prior(tiny_runs_dir):
    at = start()
    at.sidebar.selectbox[0].set_value(str(tiny_runs_dir / "ae-mlp-2d-digits")).run()
    assert not at.exception
    assert at.session_state["model_path"].endswith("ae-mlp-2d-digits")
    assert any("no prior" in c.value for c in at.caption)


def test_the_pad_is_the_default_and_gets_the_mlp_weights_once(tiny_model_dirs, tiny_runs_dir):
    at = start(classic=False)
    assert not at.slider or all(not s.key.startswith("z_") for s in at.slider)
    data = pad_data(at)
    assert data["mode"] == "browser" and data["dims"] == [0, 1] and data["z"] == [0.0, 0.0]
    assert data["image_shape"] == [1, 8, 8] and data["scale"] == 35
    decoder = data["decoder"]
    assert decoder["latent_dim"] == 2 and [layer["out"] for layer in decoder["layers"]] == [32, 64]
    assert data["model_key"] == at.session_state["explore_pad_weights_sent"]
    assert decoded(at).shape == (280, 280)

    next(b for b in at.button if b.label == "Sample from prior").click().run()
    data = pad_data(at)
    assert data["decoder"] is None  # the page already has the weights
    assert data["z"] == at.session_state["explore_z"] != [0.0, 0.0]
    assert data["z_version"] >= 2  # the server moved z: the pad takes it
    assert "z on the server: (" in " ".join(c.value for c in at.caption)


def test_decode_on_the_server_sends_the_image_through_the_pad(tiny_model_dirs, tiny_runs_dir):
    at = start(classic=False)
    at.toggle(key="explore_pad_server_decode").set_value(True).run()
    assert not at.exception
    data = pad_data(at)
    assert data["mode"] == "server" and data["decoder"] is None
    model = load_run(tiny_model_dirs[0] / "vae-mlp-2d-digits").model
    with torch.inference_mode():
        expected = model.decode(torch.zeros(1, 2))[0]
    pixels = np.frombuffer(base64.b64decode(data["image"]["pixels"]), dtype=np.uint8).reshape(8, 8)
    assert np.array_equal(pixels, upscale_nearest(expected, 1))


def plotly_specs(at) -> dict[str, str]:
    """Each plotly chart's figure JSON, by the key the page gave it."""
    return {e.proto.id.split("-")[-1]: e.proto.spec for e in at.get("plotly_chart")}


def test_the_shared_figures_follow_z_and_the_choices(tiny_runs_dir):
    """Traversal, interpolation and "Where z sits" are cached for every session, keyed by what they show."""
    at = start()
    before = list(plotly_specs(at).values())
    at.run()
    assert list(plotly_specs(at).values()) == before  # nothing moved: the same figures
    next(b for b in at.button if b.label == "Sample from prior").click().run()
    moved = list(plotly_specs(at).values())
    assert len(moved) == len(before) and moved != before  # the traversal grid and the marker follow z
    next(b for b in at.button if b.label == "Reset to 0").click().run()
    assert list(plotly_specs(at).values()) == before
    at.number_input(key="explore_interp_b").set_value(5).run()
    assert list(plotly_specs(at).values()) != before and not at.exception
