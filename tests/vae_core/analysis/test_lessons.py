import math

import numpy as np
import pytest
import torch

from vae_core.analysis.decoding import decode_points
from vae_core.analysis.lessons import (
    elbo_breakdown,
    normal_densities,
    normal_kl,
    normal_kl_parts,
    pixel_pca_2d,
    reparameterization_gradients,
    reparameterized_points,
)
from vae_core.analysis.reconstruction import reconstruction_report
from vae_core.models import ModelConfig, build_model


def tiny(kind="vae"):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, image_shape=(1, 8, 8), latent_dim=2, hidden_sizes=(16,))).eval()


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (1.5, 0.5), (-2.0, 3.0)])
def test_normal_kl_matches_numeric_integral(mu, sigma):
    xs = np.linspace(-40, 40, 200001)
    log_q = -0.5 * ((xs - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))
    log_p = -0.5 * xs**2 - 0.5 * math.log(2 * math.pi)
    numeric = np.trapezoid(np.exp(log_q) * (log_q - log_p), xs)
    assert normal_kl(mu, sigma) == pytest.approx(numeric, abs=1e-3)
    assert normal_kl(mu, sigma) == pytest.approx(0.5 * (mu**2 + sigma**2 - 1 - math.log(sigma**2)))


def test_normal_densities_cover_both_curves():
    xs, q, p = normal_densities(3.0, 0.5)
    assert xs[0] <= -4 and xs[-1] >= 5 and np.trapezoid(q, xs) == pytest.approx(1, abs=1e-3)


def test_normal_kl_parts_add_up():
    parts = normal_kl_parts(2.0, 1.0)
    assert parts == {"mean": 2.0, "spread": 0.0, "total": 2.0}
    assert normal_kl_parts(0.0, 0.5)["spread"] == pytest.approx(0.5 * (0.25 - 1 - math.log(0.25)))


def test_normal_kl_refuses_non_positive_sigma():
    with pytest.raises(ValueError, match="σ"):
        normal_kl(0.0, 0.0)


def test_reparameterized_points_are_mu_plus_eps_sigma():
    eps, z = reparameterized_points([1.0, -1.0], [0.5, 2.0], n=1000, seed=3)
    assert torch.allclose(z, torch.tensor([1.0, -1.0]) + eps * torch.tensor([0.5, 2.0]))
    assert z.mean(0).sub(torch.tensor([1.0, -1.0])).abs().max() < 0.2


def test_gradient_reaches_the_encoder_only_with_the_trick():
    model = tiny()
    grads = reparameterization_gradients(model, torch.rand(4, 1, 8, 8), seed=0)
    assert grads["with_trick"]["encoder"] > 0 and grads["with_trick"]["decoder"] > 0
    assert grads["without_trick"]["encoder"] is None and grads["without_trick"]["decoder"] > 0
    assert all(p.grad is None for p in model.parameters())
    frozen = tiny().requires_grad_(False)  # how the app shares a loaded model
    assert reparameterization_gradients(frozen, torch.rand(2, 1, 8, 8))["with_trick"]["encoder"] > 0
    assert not any(p.requires_grad for p in frozen.parameters())


def test_the_gradient_lesson_is_the_same_for_a_seed_whatever_the_global_rng():
    model, x = tiny(), torch.rand(4, 1, 8, 8)
    torch.manual_seed(1)
    first = reparameterization_gradients(model, x, seed=3)
    torch.manual_seed(2)
    assert reparameterization_gradients(model, x, seed=3) == first
    # The same z either way: the decoder learns the same, only the encoder's path is cut.
    assert first["without_trick"]["decoder"] == pytest.approx(first["with_trick"]["decoder"])


def test_elbo_breakdown_adds_up_and_iwae_is_above():
    model = tiny()
    terms = elbo_breakdown(model, torch.rand(3, 1, 8, 8).round(), k=50, seed=1)
    assert torch.allclose(terms["elbo"], terms["log_px_given_z"] - terms["kl"])
    assert (terms["iwae"] >= terms["elbo_mc"] - 1e-4).all()
    assert (terms["kl"] >= 0).all()
    with pytest.raises(ValueError, match="VAE"):
        elbo_breakdown(tiny("ae"), torch.rand(1, 1, 8, 8))


def test_decode_points_and_pixel_pca_shapes():
    model = tiny()
    assert decode_points(model, [0.0, 0.0]).shape == (1, 1, 8, 8)
    assert decode_points(model, torch.zeros(5, 2)).shape == (5, 1, 8, 8)
    with pytest.raises(ValueError, match="coordinates"):
        decode_points(model, [0.0, 0.0, 0.0])
    assert pixel_pca_2d(torch.rand(20, 1, 8, 8)).shape == (20, 2)


def test_reconstruction_report_for_vae_and_ae():
    x = torch.rand(3, 1, 8, 8)
    report = reconstruction_report(tiny(), x, n_samples=4, iw_samples=10, seed=0)
    assert report.mean.shape == (3, 1, 8, 8) and report.samples.shape == (4, 3, 1, 8, 8)
    assert torch.allclose(report.error, (x - report.mean).abs().mean(1))
    assert set(report.terms) >= {"recon", "kl", "neg_elbo", "nll_iw"}
    again = reconstruction_report(tiny(), x, n_samples=4, iw_samples=10, seed=0)
    assert torch.equal(report.terms["neg_elbo"], again.terms["neg_elbo"])
    ae = reconstruction_report(tiny("ae"), x, iw_samples=10)
    assert "nll_iw" not in ae.terms and torch.all(ae.terms["kl"] == 0)
    with pytest.raises(ValueError, match="do not fit"):
        reconstruction_report(tiny(), torch.rand(1, 1, 28, 28))
