"""The Latent map page in a headless app: the scatter, overlays, one image's numbers, projections, an AE."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.explorer.conftest import APP_PATH
from vae_core.data import dataset_info, load_dataset
from vae_core.evaluation import per_image_terms
from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.format import empty_metrics

APP = str(APP_PATH)


def open_map(select=None):
    at = AppTest.from_file(APP, default_timeout=60).run()
    if select is not None:
        at.sidebar.selectbox[0].set_value(str(select)).run()
    at.switch_page("page_scripts/latent_map.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def map_spec(at):
    chart = at.get("plotly_chart")[0]
    return json.loads(chart.proto.spec)


def n_values(array) -> int:
    """Length of a plotly data array, plain or typed ({"dtype", "bdata"} as plotly 6 writes numpy arrays)."""
    if isinstance(array, dict):
        return len(np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])))
    return len(array)


def hover_data(at) -> dict:
    """The data the hover-map component was mounted with."""
    (element,) = [e for e in at.get("bidi_component") if e.proto.component_name.endswith("latent_map_hover")]
    return json.loads(element.proto.json)


def pin(at, data, **point):
    """What a click on the map leaves on the server: the pinned point of this view."""
    at.session_state["latent_map_pinned"] = {"view_id": data["view_id"], "seq": 1, **point}
    return at.run()


def captions(at) -> list[str]:
    return [img.caption for e in at.get("image") for img in e.proto.imgs] + [c.value for c in at.caption]


def metric(at, start):
    return next(m for m in at.metric if m.label.startswith(start))


def test_the_map_is_a_webgl_scatter_with_a_trace_per_class(tiny_runs_dir):
    at = open_map()
    spec = map_spec(at)
    assert [t["type"] for t in spec["data"]] == ["scattergl"] * 10
    assert [t["name"] for t in spec["data"]] == [str(d) for d in range(10)]
    assert sum(n_values(t["x"]) for t in spec["data"]) == len(load_dataset("digits").test_x)
    assert {c.key for c in at.checkbox} == {"latent_map_ellipses", "latent_map_prior", "latent_map_manifold"}
    assert metric(at, "active units").value.endswith("of 2")
    assert "nats per image" in metric(at, "KL").label


def test_the_hover_map_decodes_the_mlp_in_the_browser_and_a_pin_shows_its_z(tiny_runs_dir):
    at = open_map()
    data = hover_data(at)
    assert data["preview"]["kind"] == "mlp" and data["preview"]["dims"] == [0, 1]
    assert data["n"] == len(load_dataset("digits").test_x)
    assert [c["name"] for c in data["classes"]] == [str(d) for d in range(10)]
    assert "Click the map to pin" in " ".join(c.value for c in at.caption)

    at = pin(at, data, x=0.5, y=-1.25, index=None)
    assert not at.exception, [e.message for e in at.exception]
    assert any(m.value.startswith("**Pinned z** = (+0.500, -1.250)") for m in at.markdown)
    assert metric(at, "pixel distance to the nearest training image").value
    assert any(c.startswith("nearest training image #") for c in captions(at))
    assert hover_data(at)["pinned"]["x"] == 0.5  # drawn again if the map remounts


def test_a_pin_from_another_view_is_ignored(tiny_runs_dir):
    at = open_map()
    at.session_state["latent_map_pinned"] = {"view_id": "another model", "x": 1.0, "y": 1.0, "index": None}
    at.run()
    assert not at.exception
    assert not [m for m in at.markdown if "Pinned z" in m.value]
    assert hover_data(at)["pinned"] is None


def test_overlays_add_ellipses_prior_contours_and_a_manifold_picture(tiny_runs_dir):
    at = open_map()
    for key in ("latent_map_ellipses", "latent_map_prior", "latent_map_manifold"):
        at.checkbox(key=key).check()
    at.run()
    assert not at.exception
    spec = map_spec(at)
    names = [t.get("name", "") for t in spec["data"][10:]]
    assert any(n.startswith("prior") for n in names) and any(n.startswith("posterior") for n in names)
    assert len(spec["layout"]["images"]) == 1
    data = hover_data(at)  # the hover map draws the same overlays
    assert data["prior_radii"] == [1, 2, 3] and data["ellipses"] and data["manifold_png"]


def test_one_image_shows_its_numbers(tiny_model_dirs, tiny_runs_dir):
    at = open_map()
    at.number_input(key="latent_map_index").set_value(5).run()
    assert not at.exception
    run = load_run(tiny_model_dirs[0] / "vae-mlp-2d-digits")
    terms = per_image_terms(run.model, load_dataset("digits").test_x[5:6], generator_seed=0)
    shown = metric(at, "−ELBO, nats per image (lower is better)")
    assert float(shown.value) == pytest.approx(float(terms["neg_elbo"][0]), abs=0.01)


def test_an_ae_has_no_ellipses_and_says_why(tiny_runs_dir):
    at = open_map(select=tiny_runs_dir / "ae-mlp-2d-digits")
    assert at.checkbox(key="latent_map_ellipses").disabled
    assert any("no posterior" in i.value for i in at.info)
    assert not [m for m in at.metric if m.label.startswith("KL")]
    assert "no KL term" in " ".join(c.value for c in at.caption)


@pytest.fixture
def three_d_run(tmp_path, monkeypatch, tiny_model_dirs):
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    info = dataset_info(load_dataset("digits"), 0)
    save_run(tmp_path / "three", model, train_config=None, dataset_info=info, metrics=empty_metrics())
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(tmp_path / "no-assets"))
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    return tmp_path / "three"


def test_more_than_two_dims_offer_pca_tsne_and_an_axis_pair(three_d_run):
    at = open_map()
    projection = at.radio(key="latent_map_projection")
    assert projection.value == "PCA" and len(projection.options) == 3
    assert at.checkbox(key="latent_map_prior").disabled  # a projection has no faithful prior picture
    data = hover_data(at)
    assert data["preview"]["kind"] == "nearest" and "not the latent space" in data["hover_text"]
    # One reconstruction per shown point, as uint8 [H, W, C].
    assert len(base64.b64decode(data["preview"]["atlas"])) == data["n"] * 8 * 8
    at = pin(at, data, x=0.0, y=0.0, index=7)
    assert not at.exception and any("reconstruction of test image #7" in c for c in captions(at))
    projection = at.radio(key="latent_map_projection")
    projection.set_value("t-SNE").run()
    assert not at.exception and len(map_spec(at)["data"]) == 10
    at.radio(key="latent_map_projection").set_value("two latent dimensions").run()
    at.selectbox(key="latent_map_dim_y").set_value(2).run()
    at.checkbox(key="latent_map_manifold").check().run()
    assert not at.exception
    spec = map_spec(at)
    layout = spec["layout"]
    assert layout["xaxis"]["title"]["text"].startswith("z0") and layout["yaxis"]["title"]["text"].startswith("z2")
    assert len(spec["layout"]["images"]) == 1
    at.selectbox(key="latent_map_dim_y").set_value(0).run()
    assert not at.exception and any("two different" in e.value for e in at.error)


@pytest.fixture
def conv_run(tmp_path, monkeypatch, tiny_model_dirs):
    model = build_model(ModelConfig(arch="conv", conv_channels=(4, 8), hidden_sizes=(16,), latent_dim=2,
                                    image_shape=(1, 32, 32)))  # fmt: skip
    info = dataset_info(load_dataset("shapes"), 0)
    save_run(tmp_path / "conv", model, train_config=None, dataset_info=info, metrics=empty_metrics())
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(tmp_path / "no-assets"))
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    return tmp_path / "conv"


def test_a_conv_model_hovers_over_a_server_decoded_grid(conv_run):
    at = open_map()
    preview = hover_data(at)["preview"]
    n = len(preview["xs"])
    assert preview["kind"] == "grid" and n == len(preview["ys"]) >= 8 and preview["shape"] == [32, 32, 1]
    assert len(base64.b64decode(preview["atlas"])) == n * n * 32 * 32
    assert "decoded on the server" in hover_data(at)["hover_text"]
