"""The sidebar: model picker, uploads (good ones selected, bad ones refused with the old model kept), dataset."""
import io
import json
import zipfile

from streamlit.testing.v1 import AppTest

from tests.explorer.conftest import APP_PATH

APP = str(APP_PATH)


def sidebar_app(files=None):
    """A page that draws the sidebar and, on its first run only, hands `files` to handle_upload."""
    import streamlit as st

    from explorer.sidebar import handle_upload, render_sidebar

    render_sidebar("help for this page")
    if files is not None and not st.session_state.get("uploaded_once"):
        st.session_state["uploaded_once"] = True
        st.session_state["before_upload"] = st.session_state.get("model_path")
        handle_upload(files)
        st.rerun()


def run_files(folder):
    return {name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors")}


def test_picker_lists_the_default_model_first_then_the_runs(tiny_model_dirs, tiny_runs_dir):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    picker = at.sidebar.selectbox[0]
    assert picker.value == str(tiny_model_dirs[0] / "vae-mlp-2d-digits")
    assert at.session_state["model_path"] == picker.value
    assert picker.options[0].startswith("vae-mlp-2d-digits · digits · d=2 · test −ELBO ")
    assert any(o.startswith("ae-mlp-2d-digits · digits · d=2 · test recon ") for o in picker.options)
    text = " ".join(m.value for m in at.sidebar.markdown)
    assert "`digits`" in text and "1×8×8" in text and "0, 1, 2" in text
    assert [e.label for e in at.sidebar.expander][-1] == "What am I looking at?"


def test_the_loaded_model_is_spelled_out_whole_under_the_picker(tiny_model_dirs, tiny_runs_dir):
    # The select box cuts long labels to its width ("vae-mlp-2d-mnist5k · mnist5k · d"): the caption does not.
    at = AppTest.from_file(APP, default_timeout=60).run()
    picker = at.sidebar.selectbox[0]
    captions = [c.value for c in at.sidebar.caption]
    assert any(picker.format_func(picker.value) in c and c.startswith("Loaded:") for c in captions), captions
    other = next(o for o in picker.options if o != picker.value)
    at.sidebar.selectbox[0].select(other).run()
    assert any(picker.format_func(other) in c for c in at.sidebar.caption.values), at.sidebar.caption.values


def test_a_broken_run_is_listed_with_its_error_but_cannot_be_picked(tiny_runs_dir, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    (runs / "broken").mkdir(parents=True)
    (runs / "broken" / "config.json").write_text("{not json")
    monkeypatch.setenv("VAE_RUNS_DIR", str(runs))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert not any("broken" in o for o in at.sidebar.selectbox[0].options)
    assert "1 run(s) cannot be loaded" in [e.label for e in at.sidebar.expander]
    assert any("broken" in m.value and "config.json" in m.value for m in at.sidebar.markdown)


def test_a_good_upload_is_installed_and_selected(tiny_model_dirs, tiny_runs_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    files = run_files(tiny_model_dirs[0] / "vae-mlp-2d-digits")
    at = AppTest.from_function(sidebar_app, kwargs={"files": files}, default_timeout=60).run()
    assert not at.exception and not at.error
    new_path = at.session_state["model_path"]
    assert new_path == str(tmp_path / "vae-mlp-2d-digits")
    assert at.sidebar.selectbox[0].value == new_path
    assert "Uploaded and selected" in at.sidebar.success[0].value


def test_a_zip_upload_is_installed_and_selected(tiny_runs_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in run_files(tiny_runs_dir / "ae-mlp-2d-digits").items():
            archive.writestr(f"my-ae/{name}", data)
    at = AppTest.from_function(sidebar_app, kwargs={"files": {"my-ae.zip": buffer.getvalue()}}, default_timeout=60).run()
    assert not at.exception and not at.error
    assert at.session_state["model_path"] == str(tmp_path / "ae-mlp-2d-digits")


def test_a_bad_upload_shows_an_error_and_keeps_the_old_model(tiny_model_dirs, tiny_runs_dir):
    files = run_files(tiny_model_dirs[0] / "vae-mlp-2d-digits")
    config = json.loads(files["config.json"])
    config["model"]["latent_dim"] = 5  # the weights no longer fit the config
    files["config.json"] = json.dumps(config).encode()
    before = sorted(p.name for p in tiny_runs_dir.iterdir())
    at = AppTest.from_function(sidebar_app, kwargs={"files": files}, default_timeout=60).run()
    assert not at.exception
    default = str(tiny_model_dirs[0] / "vae-mlp-2d-digits")
    assert at.session_state["model_path"] == at.session_state["before_upload"] == default
    assert "upload rejected" in at.sidebar.error[0].value and "shape" in at.sidebar.error[0].value
    assert sorted(p.name for p in tiny_runs_dir.iterdir()) == before


def test_a_pickle_upload_is_refused_with_advice(tiny_runs_dir):
    at = AppTest.from_function(sidebar_app, kwargs={"files": {"model.pt": b"\x80\x04junk"}}, default_timeout=60).run()
    assert not at.exception
    assert "safetensors" in at.sidebar.error[0].value
    assert at.session_state["model_path"].endswith("vae-mlp-2d-digits")


def test_without_any_model_the_pages_explain_instead_of_failing(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_ASSETS_MODELS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "No model yet" in at.error[0].value and at.sidebar.info
    at.switch_page("page_scripts/latent_map.py").run()
    assert not at.exception and "No model yet" in at.error[0].value
