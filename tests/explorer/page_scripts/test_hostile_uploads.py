"""Hostile and broken files handed to the app: the sidebar's run upload, the Reconstruct page's image
upload and the Train form's run name.

Each is refused with st.error (never an exception element), the model selected before stays
selected, no payload runs and nothing new appears on disk. The same files go through the Python API
and the CLI in tests/vae_core/runs/test_hostile_files.py. The app has no way to load dataset files (the
Train page offers only the built-in datasets), so data faults are tested there only.
"""
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.explorer.conftest import APP_PATH, TINY_VAE
from tests.hostile_files import (
    CHECKPOINT_FAULTS,
    HOSTILE_RUN_NAMES,
    IMAGE_CONVERSIONS,
    IMAGE_FAULTS,
    expected_model_input,
    files_under,
    zip_bytes,
)
from vae_core.runs import upload
from vae_core.serving import image_input

# The good_run fixture and this one come from tests/hostile_files.py (a plugin of tests/conftest.py).
pytestmark = pytest.mark.usefixtures("temp_folders_under_tmp_path")


def sidebar_page():
    """Only the sidebar (model picker and run upload), so each upload costs a fraction of a second."""
    from explorer.sidebar import render_sidebar

    render_sidebar("hostile uploads")


@pytest.fixture
def sidebar(tiny_runs_dir, tmp_path, monkeypatch) -> AppTest:
    """The sidebar with an empty runs folder under tmp_path, the default model selected."""
    (tmp_path / "runs").mkdir()
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_function(sidebar_page, default_timeout=60).run()
    assert not at.exception and at.session_state["model_path"].endswith(TINY_VAE)
    return at


def upload_run(at: AppTest, files: dict[str, bytes]) -> None:
    """Drop `files` on the sidebar's uploader, as a user would."""
    at.sidebar.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files.items()])
    at.run()


def assert_refused(at: AppTest, message: str, selected_before: str) -> None:
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and re.search(message, errors[0]), errors
    assert "\n" not in errors[0]
    assert at.session_state["model_path"] == selected_before == at.sidebar.selectbox[0].value


# ---------------------------------------------------------------- run uploads


@pytest.mark.parametrize("fault", CHECKPOINT_FAULTS, ids=lambda f: f.id)
def test_checkpoint_fault_is_refused_by_the_sidebar_upload(fault, sidebar, good_run, tmp_path):
    marker = tmp_path / "payload-ran"
    selected = sidebar.session_state["model_path"]
    before = files_under(tmp_path)
    upload_run(sidebar, fault.build(good_run, marker))
    assert_refused(sidebar, fault.message, selected)
    assert files_under(tmp_path) == before
    assert not marker.exists()


def test_a_zip_over_the_size_cap_is_refused_by_the_sidebar_upload(sidebar, good_run, tmp_path, monkeypatch):
    data = zip_bytes(list(good_run.items()))
    monkeypatch.setattr(upload, "MAX_ZIP_BYTES", len(data) - 1)  # the real cap is 100 MB
    selected = sidebar.session_state["model_path"]
    before = files_under(tmp_path)
    upload_run(sidebar, {"big.zip": data})
    assert_refused(sidebar, r"upload: big\.zip is [\d.]+ MB, over the [\d.]+ MB limit", selected)
    assert files_under(tmp_path) == before


def test_after_a_refused_upload_a_good_one_still_works(sidebar, good_run, tmp_path):
    upload_run(sidebar, {"model.pt": b"\x80\x04junk"})
    assert "safetensors" in sidebar.sidebar.error[0].value
    upload_run(sidebar, good_run)
    assert not sidebar.exception and not sidebar.sidebar.error
    assert sidebar.session_state["model_path"] == str(tmp_path / "runs" / "tiny")


def test_hostile_names_inside_an_upload_are_sanitised_into_the_runs_folder(sidebar, good_run, tmp_path):
    config = json.loads(good_run["config.json"])
    config["name"] = "../../outside\n"
    files = {**good_run, "config.json": json.dumps(config).encode()}
    before = files_under(tmp_path)
    upload_run(sidebar, {"../../escape.zip": zip_bytes(list(files.items()))})
    assert not sidebar.exception and not sidebar.sidebar.error
    assert sidebar.session_state["model_path"] == str(tmp_path / "runs" / "escape")
    assert {p for p in files_under(tmp_path) - before if not p.startswith("runs/escape/")} == {"runs/escape"}


# ---------------------------------------------------------------- the Train form's run name


def test_hostile_run_names_are_refused_by_the_train_form(open_page, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page("page_scripts/train.py")
    before = files_under(tmp_path)
    for case, name in HOSTILE_RUN_NAMES.items():
        at.text_input(key="train_run_name").set_value(name)
        at.button(key="train_start").click().run()
        assert not at.exception, case
        assert any(e.value.startswith("run name") for e in at.error), (case, [e.value for e in at.error])
        assert "train_job_ids" not in at.session_state or not at.session_state["train_job_ids"], case
    assert files_under(tmp_path) == before


# ---------------------------------------------------------------- the Reconstruct page's image upload


@pytest.fixture(scope="module")
def reconstruct_upload(tiny_model_dirs):
    """The Reconstruct page switched to "Upload a PNG or JPEG", shared by this module's image tests."""
    assets, runs = tiny_model_dirs
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAE_ASSETS_MODELS_DIR", str(assets))
        patch.setenv("VAE_RUNS_DIR", str(runs))
        at = AppTest.from_file(str(APP_PATH), default_timeout=90).run()
        at.switch_page("page_scripts/reconstruct.py").run()
        at.radio(key="recon_source").set_value("Upload a PNG or JPEG").run()
        assert not at.exception and "Upload an image" in at.info[0].value
        yield at


def upload_image(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader(key="recon_upload").set_value((name, data, "image/png")).run()


@pytest.mark.parametrize("case", IMAGE_FAULTS, ids=IMAGE_FAULTS.keys())
def test_bad_image_is_refused_by_the_reconstruct_page(case, reconstruct_upload):
    at = reconstruct_upload
    name, data, message = IMAGE_FAULTS[case]
    selected = at.session_state["model_path"]
    upload_image(at, name, data)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and re.search(message, at.error[0].value), [e.value for e in at.error]
    assert not at.dataframe  # nothing was reconstructed
    assert at.session_state["model_path"] == selected


@pytest.mark.parametrize("conversion", IMAGE_CONVERSIONS, ids=lambda c: c.id)
def test_odd_image_is_converted_by_the_reconstruct_page(conversion, reconstruct_upload, monkeypatch):
    at = reconstruct_upload
    given = []
    convert = image_input.load_user_image

    def recording(*args, **kwargs):
        result = convert(*args, **kwargs)
        given.append(result[0])
        return result

    # The page imports load_user_image on every run, so it picks up this recorder of what the model gets.
    monkeypatch.setattr(image_input, "load_user_image", recording)
    upload_image(at, conversion.name, conversion.data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = " ".join(c.value for c in at.caption)
    assert conversion.step in captions
    assert list(at.dataframe[0].value.index) == [conversion.name]
    assert (given[-1] - expected_model_input(conversion.shown, 1)).abs().max() <= conversion.tolerance
