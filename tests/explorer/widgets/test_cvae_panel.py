"""A conditional VAE in the app: the Explore page picks the class and shows one style in every class;
the other pages encode with the true labels and render without errors."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.explorer.conftest import APP_PATH
from vae_core.models import ModelConfig
from vae_core.training.config import TrainConfig
from vae_core.training.run import train_run

APP = str(APP_PATH)
NAME = "cvae-mlp-2d-digits"


@pytest.fixture(scope="module")
def cvae_runs_dir(tmp_path_factory, tiny_model_dirs):
    runs = tmp_path_factory.mktemp("cvae-runs")
    config = ModelConfig(kind="cvae", latent_dim=2, hidden_sizes=(32,), num_classes=10)
    train_run(config, TrainConfig(epochs=2, batch_size=64, device="cpu"), "digits", runs / NAME)
    return runs


@pytest.fixture
def cvae_app(cvae_runs_dir, tiny_model_dirs, monkeypatch):
    """open(page, classic) -> the app on `page` with the tiny cvae selected."""
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(tiny_model_dirs[0]))
    monkeypatch.setenv("VAE_RUNS_DIR", str(cvae_runs_dir))

    def open_(page=None, classic=True):
        at = AppTest.from_file(APP, default_timeout=90)
        at.session_state["model_path"] = str(cvae_runs_dir / NAME)
        at.run()
        if classic:
            at.toggle(key="explore_classic_sliders").set_value(True).run()
        if page is not None:
            at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return open_


def decoded(at) -> np.ndarray:
    return np.array(at.session_state["explore_decoded"])


def test_explore_shows_the_class_picker_and_one_style_in_every_class(cvae_app):
    at = cvae_app()
    picker = at.radio(key="cvae_class")
    assert picker.options == [str(k) for k in range(10)] and picker.value == 0
    assert any("This style, every class" in m.value for m in at.markdown)
    row = np.array(at.session_state["cvae_every_class"])
    assert row.shape == (10, 56, 56)  # 8×8 digits at 7×, one per class
    assert len({r.tobytes() for r in row}) == 10  # each label draws something else from the same z
    # The big image is the picked class's entry of the row (both are upscaled copies of one decode).
    assert np.array_equal(decoded(at)[::35, ::35], row[0][::7, ::7])


def test_changing_the_class_changes_the_decoded_image_but_not_z(cvae_app):
    at = cvae_app()
    at.slider(key="z_0").set_value(1.5).run()
    before, row = decoded(at), np.array(at.session_state["cvae_every_class"])
    at.radio(key="cvae_class").set_value(7).run()
    assert not at.exception
    assert at.session_state["explore_z"][0] == 1.5
    after = decoded(at)
    assert not np.array_equal(before, after)
    assert np.array_equal(after[::35, ::35], row[7][::7, ::7])


def test_moving_z_keeps_the_class_and_changes_the_style(cvae_app):
    at = cvae_app()
    at.radio(key="cvae_class").set_value(3).run()
    before = np.array(at.session_state["cvae_every_class"])
    at.slider(key="z_1").set_value(-2.0).run()
    assert at.session_state["cvae_class"] == 3
    assert not np.array_equal(before, np.array(at.session_state["cvae_every_class"]))


def test_the_pad_decodes_a_cvae_on_the_server_with_the_class(cvae_app):
    at = cvae_app(classic=False)
    (pad,) = [e for e in at.get("bidi_component") if e.proto.component_name == "vae_explorer.latent_pad"]
    data = json.loads(pad.proto.json)
    assert data["mode"] == "server" and data["image"] is not None
    at.radio(key="cvae_class").set_value(5).run()
    assert not at.exception
    (pad,) = [e for e in at.get("bidi_component") if e.proto.component_name == "vae_explorer.latent_pad"]
    assert json.loads(pad.proto.json)["image"]["pixels"] != data["image"]["pixels"]


def test_starting_from_a_real_image_takes_its_class(cvae_app):
    at = cvae_app()
    at.number_input(key="explore_pick_index").set_value(4).run()
    at.button[[b.label for b in at.button].index("Start from a real image")].click().run()
    assert not at.exception
    from vae_core.data import load_dataset

    assert at.session_state["cvae_class"] == int(load_dataset("digits").test_y[4])


@pytest.mark.parametrize("page", ["page_scripts/latent_map.py", "page_scripts/reconstruct.py", "page_scripts/learn.py", "page_scripts/train.py"])
def test_the_other_pages_render_a_cvae_run(cvae_app, page):
    at = cvae_app(page)
    assert not at.exception, [e.message for e in at.exception]


def test_the_latent_map_decodes_the_picked_class(cvae_app):
    at = cvae_app("page_scripts/latent_map.py")
    assert at.radio(key="latent_map_cvae_class").options[:2] == ["0", "1"]

    def preview():
        (el,) = [e for e in at.get("bidi_component") if e.proto.component_name.endswith("latent_map_hover")]
        return json.loads(el.proto.json)["preview"]

    first = preview()
    assert first["kind"] == "mlp"
    at.radio(key="latent_map_cvae_class").set_value(9).run()
    assert not at.exception
    assert preview()["decoder"]["sha256"] != first["decoder"]["sha256"]
    at.checkbox(key="latent_map_manifold").check().run()
    assert not at.exception
