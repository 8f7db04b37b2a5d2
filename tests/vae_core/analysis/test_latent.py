"""Encodings, active units, KL per dimension, paths and overlays of the latent space."""
import math

import numpy as np
import pytest
import torch

from tests.vae_core.tiny_models import images, tiny_model
from vae_core import analysis


def test_encode_dataset_matches_model_encode():
    model, x = tiny_model(latent_dim=5), images(50)
    mu, logvar = analysis.encode_dataset(model, x, batch_size=16)
    with torch.no_grad():
        mu_ref, logvar_ref = model.encode(x)
    torch.testing.assert_close(mu, mu_ref)
    torch.testing.assert_close(logvar, logvar_ref)
    assert not mu.is_inference()
    code, none = analysis.encode_dataset(tiny_model(kind="ae"), x)
    assert code.shape == (50, 2) and none is None


def test_active_units_is_variance_of_mu_above_threshold():
    mu = torch.stack([torch.linspace(-1, 1, 100), torch.full((100,), 3.0), 0.05 * torch.randn(100)], dim=1)
    count, variances = analysis.active_units(mu)
    torch.testing.assert_close(variances, mu.var(0))
    assert count == int((mu.var(0) > 0.01).sum()) == 1


def test_kl_per_dim_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(40, 5), torch.randn(40, 5)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).mean(0)
    torch.testing.assert_close(analysis.kl_per_dim(mu, logvar), expected)
    with pytest.raises(ValueError, match="AE"):
        analysis.kl_per_dim(mu, None)


def test_interpolation_endpoints_and_slerp_norm():
    torch.manual_seed(0)
    z_a, z_b = torch.randn(5), 3 * torch.randn(5)
    for method in ("linear", "slerp"):
        path = analysis.interpolate(z_a, z_b, 9, method=method)
        assert path.shape == (9, 5)
        assert torch.equal(path[0], z_a) and torch.equal(path[-1], z_b)
    linear = analysis.interpolate(z_a, z_b, 9)
    torch.testing.assert_close(linear[4], (z_a + z_b) / 2)
    norms = analysis.interpolate(z_a, z_b, 9, method="slerp").norm(dim=1)
    low, high = sorted([z_a.norm().item(), z_b.norm().item()])
    assert ((norms >= low - 1e-5) & (norms <= high + 1e-5)).all()
    torch.testing.assert_close(norms, torch.linspace(z_a.norm().item(), z_b.norm().item(), 9))


def test_slerp_of_parallel_vectors_falls_back_to_linear():
    z_a = torch.tensor([1.0, 2.0, 0.5])
    path = analysis.interpolate(z_a, 2 * z_a, 5, method="slerp")
    torch.testing.assert_close(path, analysis.interpolate(z_a, 2 * z_a, 5, method="linear"))
    with pytest.raises(ValueError, match="slerp"):
        analysis.interpolate(z_a, z_a, 5, method="cubic")


def test_posterior_ellipse_points_lie_on_the_ellipse():
    mu2 = np.array([[0.0, 0.0], [1.5, -2.0]])
    logvar2 = np.array([[0.0, 0.0], [np.log(0.25), np.log(4.0)]])
    outline = analysis.posterior_ellipse(mu2, logvar2, n_std=2.0, n_points=30)
    assert outline.shape == (2, 30, 2)
    radii = 2.0 * np.exp(0.5 * logvar2)[:, None, :]
    np.testing.assert_allclose((((outline - mu2[:, None, :]) / radii) ** 2).sum(-1), 1.0)
    np.testing.assert_allclose(outline[:, 0], outline[:, -1], atol=1e-12)


def test_prior_density_grid_is_the_standard_normal():
    xs, ys, density = analysis.prior_density_grid((-6, 6), (-5, 7), n=121)
    assert density.shape == (121, 121)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert density.sum() * cell == pytest.approx(1.0, abs=1e-3)
    i, j = 10, 70
    assert density[i, j] == pytest.approx(math.exp(-0.5 * (xs[j] ** 2 + ys[i] ** 2)) / (2 * math.pi))


def test_a_point_of_a_plane_sets_its_two_dimensions_and_keeps_the_rest():
    z = analysis.point_in_plane(4, (2, 0), 1.5, -0.5)
    assert z.tolist() == [-0.5, 0.0, 1.5, 0.0]
    base = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert analysis.point_in_plane(4, (1, 3), 9.0, 8.0, base_z=base).tolist() == [1.0, 9.0, 3.0, 8.0]
    assert base.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="two different latent dimensions"):
        analysis.point_in_plane(4, (1, 1), 0.0, 0.0)


def test_the_posterior_std_is_exp_half_logvar():
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    torch.testing.assert_close(analysis.posterior_std(logvar), torch.tensor([[1.0, 2.0]]))
