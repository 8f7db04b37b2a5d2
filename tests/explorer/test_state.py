"""The app's models run on $VAE_DEVICE (the CPU by default) and every decode comes back as CPU images."""
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import state
from tests.explorer.conftest import APP_PATH, TINY_VAE
from vae_core import analysis
from vae_core.runs.checkpoint import load_run
from vae_core.training.device import mps_is_available

needs_cuda = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none here")]
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=needs_cuda),
    pytest.param("mps", id="mps", marks=pytest.mark.skipif(not mps_is_available(), reason="needs Apple's MPS backend; not here")),
]


def test_the_app_runs_on_the_cpu_unless_vae_device_names_another(monkeypatch):
    monkeypatch.delenv("VAE_DEVICE", raising=False)
    assert state.app_device() == torch.device("cpu")
    monkeypatch.setenv("VAE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="VAE_DEVICE=tpu"):
        state.app_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_vae_device_cuda_without_a_gpu_says_what_is_wrong(monkeypatch):
    monkeypatch.setenv("VAE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="VAE_DEVICE=cuda: .*no CUDA GPU"):
        state.app_device()


@pytest.mark.parametrize("device", DEVICES)
def test_a_model_loaded_on_vae_device_decodes_the_cpu_models_images(device, tiny_model_dirs, monkeypatch):
    monkeypatch.setenv("VAE_DEVICE", device)
    assets, _ = tiny_model_dirs
    run = state.load_selected_run(assets / TINY_VAE)
    assert next(run.model.parameters()).device.type == device
    reference = load_run(assets / TINY_VAE, device="cpu").model
    z = torch.tensor([[0.5, -1.0], [0.0, 0.0]])
    images = analysis.decode_points(run.model, z)
    assert images.device.type == "cpu"
    torch.testing.assert_close(images, analysis.decode_points(reference, z), atol=1e-4, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("device", [pytest.param("cuda", marks=needs_cuda)])
def test_the_explore_page_decodes_on_the_gpu(device, tiny_runs_dir, monkeypatch):
    monkeypatch.setenv("VAE_DEVICE", device)
    at = AppTest.from_file(str(APP_PATH), default_timeout=90).run()
    assert not at.exception, [e.message for e in at.exception]
    at.toggle(key="explore_classic_sliders").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    assert np.isfinite(np.array(at.session_state["explore_decoded"])).all()
