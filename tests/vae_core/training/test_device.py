"""Every path runs on every available device: training, evaluation, the analysis functions, decoding and
the CLI. The CPU always; CUDA and MPS where the machine has them.

Seeded draws (prior samples, ε of stochastic reconstructions) are made on the CPU, so a model on any
device must give the CPU model's images; results always come back as CPU tensors.
"""
import json

import pytest
import torch

from vae_core import analysis
from vae_core.analysis.lessons import elbo_breakdown, reparameterization_gradients
from vae_core.analysis.reconstruction import reconstruction_report
from vae_core.cli import main
from vae_core.data import load_dataset
from vae_core.evaluation import evaluate, per_image_terms
from vae_core.models import ModelConfig
from vae_core.runs.checkpoint import load_run
from vae_core.serving.decoder_export import export_mlp_decoder
from vae_core.training.config import TrainConfig
from vae_core.training.device import autocast_dtype, available_devices, mps_is_available, resolve_device
from vae_core.training.loop import train
from vae_core.training.run import build_seeded_model

needs_cuda = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none here")]
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=needs_cuda),
    pytest.param("mps", id="mps", marks=pytest.mark.skipif(not mps_is_available(), reason="needs Apple's MPS backend; not here")),
]
# float32 kernels differ between devices (summation order, fused ops): images agree to this, not bit for bit.
ATOL = 1e-4


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="module")
def cpu_model(digits):
    """A 2-D VAE trained for one epoch on the CPU: the reference every device is compared with."""
    model = build_seeded_model(ModelConfig(latent_dim=2, hidden_sizes=(32,), image_shape=(1, 8, 8)), 0)
    return train(model, digits, TrainConfig(epochs=1, batch_size=64, device="cpu")).model.eval()


def _copy_on(model, device: str):
    clone = build_seeded_model(model.config, 0)
    clone.load_state_dict(model.state_dict())
    return clone.to(device).eval()


def test_auto_picks_an_available_device_and_the_cpu_is_always_there():
    assert available_devices()[0] == "cpu"
    assert resolve_device("auto").type in available_devices()


@pytest.mark.parametrize("device", DEVICES)
def test_training_happens_on_the_device_and_lowers_the_loss(device, digits):
    model = build_seeded_model(ModelConfig(latent_dim=2, hidden_sizes=(32,), image_shape=(1, 8, 8)), 0)
    before = evaluate(model.eval(), digits.test_x, seed=0)["neg_elbo"]
    result = train(model, digits, TrainConfig(epochs=2, batch_size=64, device=device, augment_shift=1))
    assert {p.device.type for p in result.model.parameters()} == {device}
    assert result.status["state"] == "finished"
    assert result.history[-1]["test"]["neg_elbo"] < before - 5


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_a_conv_model_trains_on_the_device(device):
    data = load_dataset("shapes:32:256", seed=0)
    model = build_seeded_model(ModelConfig(arch="conv", latent_dim=4, hidden_sizes=(32,), conv_channels=(8, 16),
                                           image_shape=(1, 32, 32)), 0)
    result = train(model, data, TrainConfig(epochs=1, batch_size=64, device=device))
    assert result.status["state"] == "finished"
    assert torch.isfinite(torch.tensor(result.history[-1]["test"]["neg_elbo"]))


@pytest.mark.parametrize("device", DEVICES)
def test_evaluation_on_the_device_agrees_with_the_cpu(device, cpu_model, digits):
    model = _copy_on(cpu_model, device)
    x = digits.test_x[:100]
    here = per_image_terms(model, x, iw_samples=5, generator_seed=0)
    reference = per_image_terms(cpu_model, x, iw_samples=5, generator_seed=0)
    assert all(t.device.type == "cpu" for t in here.values())
    # μ and the closed-form KL are deterministic; the sampled recon and IWAE terms only need to be finite.
    torch.testing.assert_close(here["mu"], reference["mu"], atol=ATOL, rtol=1e-4)
    torch.testing.assert_close(here["kl"], reference["kl"], atol=ATOL, rtol=1e-4)
    assert torch.isfinite(here["neg_elbo"]).all() and torch.isfinite(here["nll_iw"]).all()
    result = evaluate(model, x, seed=0)
    assert result["n"] == 100 and result["neg_elbo"] == pytest.approx(evaluate(cpu_model, x, seed=0)["neg_elbo"], rel=0.05)


@pytest.mark.parametrize("device", DEVICES)
def test_analysis_functions_on_the_device_return_the_cpu_models_images(device, cpu_model, digits):
    model = _copy_on(cpu_model, device)
    x = digits.test_x[:6]
    mu, logvar = analysis.encode_dataset(cpu_model, x)
    calls = {
        "reconstruct": lambda m: analysis.reconstruct(m, x),
        "stochastic_reconstructions": lambda m: analysis.stochastic_reconstructions(m, x, 3, seed=1),
        "prior_samples": lambda m: analysis.prior_samples(m, 5, seed=2),
        "traversal_grid": lambda m: analysis.traversal_grid(m, mu[0], [0, 1], torch.linspace(-2, 2, 4)),
        "manifold_grid": lambda m: analysis.manifold_grid(m, n=4)[0],
        "manifold_grid_in_box": lambda m: analysis.manifold_grid_in_box(m, (-1, 1), (-2, 2), n=3)[0],
        "decode_points": lambda m: analysis.decode_points(m, mu[:3]),
        "encode_dataset": lambda m: analysis.encode_dataset(m, x)[1],
        "reconstruction_report": lambda m: reconstruction_report(m, x, n_samples=2, iw_samples=3).samples,
        "elbo_breakdown": lambda m: elbo_breakdown(m, x, k=4)["kl"],
    }
    for name, call in calls.items():
        got, expected = call(model), call(cpu_model)
        assert got.device.type == "cpu", name
        torch.testing.assert_close(got, expected, atol=ATOL, rtol=1e-4, msg=lambda m: f"{name}: {m}")
    grads = reparameterization_gradients(model, x, seed=0)["with_trick"]
    assert grads["encoder"] == pytest.approx(reparameterization_gradients(cpu_model, x, seed=0)["with_trick"]["encoder"], rel=1e-3)
    assert export_mlp_decoder(model)["sha256"] == export_mlp_decoder(cpu_model)["sha256"]


@pytest.mark.parametrize("device", DEVICES)
def test_nearest_training_image_runs_where_the_training_images_are(device, digits):
    train_x = digits.train_x.to(device)
    index, distance = analysis.nearest_training_image(digits.train_x[[5, 9]], train_x)
    assert index.tolist() == [5, 9] and distance.device.type == "cpu"
    assert distance.abs().max() < 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_cli_train_evaluate_and_sample_take_a_device(device, tmp_path, capsys):
    common = ["--dataset", "digits", "--latent-dim", "2", "--hidden-sizes", "32", "--epochs", "1", "--quiet"]
    assert main(["train", *common, "--device", device, "--out", str(tmp_path), "--name", "run"]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["device"] == device and config["train"]["amp"] == "off"
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--device", device, "--iw-samples", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["nll_iw"] <= result["neg_elbo"] + 1.0
    assert main(["sample", str(tmp_path / "run"), "--device", device, "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    run = load_run(tmp_path / "run", device=device)
    assert next(run.model.parameters()).device.type == device


def test_mixed_precision_is_refused_off_cuda_with_a_reason(tmp_path, capsys):
    assert autocast_dtype("off", torch.device("cpu")) is None
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        autocast_dtype("fp16", torch.device("cpu"))
    with pytest.raises(ValueError, match="amp"):
        TrainConfig(amp="fp8")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "digits", "--epochs", "1", "--device", "cpu", "--amp", "--out", str(tmp_path), "--quiet"])
    assert exit_info.value.code == 2
    assert "mixed precision needs a CUDA GPU" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no half-made run folder


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
@pytest.mark.parametrize("device", [pytest.param("cuda", marks=needs_cuda)])
def test_mixed_precision_training_on_cuda_keeps_the_loss_terms_in_float32(amp, device, tmp_path):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    data = load_dataset("shapes:32:512", seed=0)
    config = ModelConfig(arch="conv", latent_dim=4, hidden_sizes=(64,), image_shape=(1, 32, 32))
    model = build_seeded_model(config, 0).to(device)
    x = data.train_x[:64].to(device)
    with torch.autocast(device, dtype=autocast_dtype(amp, torch.device(device))):
        terms = model(x)
    assert terms.logits.dtype != torch.float32  # the networks ran in half precision ...
    assert terms.recon.dtype == terms.kl.dtype == torch.float32  # ... the likelihood and KL did not
    full = model(x)
    assert terms.neg_elbo.mean().item() == pytest.approx(full.neg_elbo.mean().item(), rel=0.01)

    assert main(["train", "--dataset", "shapes:32:512", "--arch", "conv", "--latent-dim", "4", "--hidden-sizes", "64",
                 "--epochs", "2", "--device", device, "--amp", amp, "--out", str(tmp_path), "--name", "amp", "--quiet"]) == 0
    run = load_run(tmp_path / "amp")
    assert run.train_config.amp == amp  # the run folder says how it was trained
    history = run.metrics["history"]
    assert history[-1]["test"]["neg_elbo"] < history[0]["train"]["neg_elbo"]
