"""analysis.py: each latent-space computation against its closed form or a direct model call."""
import math

import numpy as np
import pytest
import torch

from vae_core import analysis
from vae_core.models import ModelConfig, build_model


def tiny_model(latent_dim=2, kind="vae", seed=0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(kind=kind, latent_dim=latent_dim, hidden_sizes=(32,), image_shape=(1, 8, 8)))
    return model.eval()


def images(n=64, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


class DecodeSpy:
    """Wraps model.decode to record every batch of latents it receives."""

    def __init__(self, model):
        self.calls = []
        self.original = model.decode
        model.decode = self

    def __call__(self, z):
        self.calls.append(z.detach().cpu().clone())
        return self.original(z)


def direct_decode(model, z):
    with torch.no_grad():
        return model.decode(z)


# --- encodings, active units, KL ---------------------------------------------------------------


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


# --- projections --------------------------------------------------------------------------------


def test_projection_methods_by_dimension():
    assert analysis.projection_methods(1) == ["identity"]
    assert analysis.projection_methods(2) == ["identity"]
    assert analysis.projection_methods(5) == ["pca", "tsne"]


def test_identity_projection_is_exact_and_pads_one_dimension():
    mu = torch.randn(30, 2)
    np.testing.assert_array_equal(analysis.project_2d(mu, "identity"), mu.double().numpy())
    padded = analysis.project_2d(mu[:, :1], "identity")
    assert padded.shape == (30, 2) and (padded[:, 1] == 0).all()
    with pytest.raises(ValueError, match="pca or tsne"):
        analysis.project_2d(torch.randn(30, 5), "identity")
    with pytest.raises(ValueError, match="projection"):
        analysis.project_2d(mu, "umap")


def test_pca_projection_orders_components_by_variance():
    torch.manual_seed(0)
    mu = torch.randn(300, 5) * torch.tensor([0.1, 5.0, 0.2, 2.0, 0.1])
    points = analysis.project_2d(mu, "pca")
    assert points.shape == (300, 2)
    variances = points.var(0)
    assert variances[0] > variances[1] > 1.0
    # The leading component is latent dim 1, up to a sign fixed by the projection.
    assert abs(np.corrcoef(points[:, 0], mu[:, 1].numpy())[0, 1]) > 0.99


def test_tsne_projection_is_deterministic_for_a_seed():
    torch.manual_seed(0)
    mu = torch.randn(200, 5)
    first = analysis.project_2d(mu, "tsne", seed=3)
    assert first.shape == (200, 2) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, analysis.project_2d(mu, "tsne", seed=3))


# --- decoding latents ---------------------------------------------------------------------------


def test_traversal_changes_only_the_chosen_dimension_in_one_decode_call():
    model = tiny_model(latent_dim=5)
    z0, values = torch.randn(5), torch.linspace(-2, 2, 7)
    spy = DecodeSpy(model)
    traversal = analysis.latent_traversal(model, z0, 3, values)
    assert traversal.shape == (7, 1, 8, 8)
    assert len(spy.calls) == 1
    z = spy.calls[0]
    torch.testing.assert_close(z[:, 3], values)
    torch.testing.assert_close(z[:, [0, 1, 2, 4]], z0[[0, 1, 2, 4]].expand(7, 4))
    torch.testing.assert_close(traversal, direct_decode(model, z))


def test_traversal_grid_rows_are_traversals_in_one_decode_call():
    model = tiny_model(latent_dim=5)
    z0, values = torch.randn(5), [-1.0, 0.0, 1.0, 2.0]
    spy = DecodeSpy(model)
    grid = analysis.traversal_grid(model, z0, [0, 2, 4], values)
    assert grid.shape == (3, 4, 1, 8, 8) and len(spy.calls) == 1
    for row, dim in enumerate([0, 2, 4]):
        torch.testing.assert_close(grid[row], analysis.latent_traversal(model, z0, dim, values))
    with pytest.raises(ValueError, match="0..4"):
        analysis.traversal_grid(model, z0, [5], values)


def test_manifold_grid_uses_symmetric_normal_quantiles_with_y_pointing_up():
    model = tiny_model(latent_dim=5)
    base = torch.randn(5)
    spy = DecodeSpy(model)
    grid, values = analysis.manifold_grid(model, n=9, dims=(1, 3), base_z=base)
    assert grid.shape == (9, 9, 1, 8, 8) and values.shape == (9,)
    assert len(spy.calls) == 1
    expected = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, 9, dtype=torch.float64))
    torch.testing.assert_close(values, expected.float())
    torch.testing.assert_close(values, -values.flip(0))
    z = spy.calls[0].reshape(9, 9, 5)
    torch.testing.assert_close(z[2, 6, [1, 3]], torch.stack([values[6], values[9 - 1 - 2]]))
    torch.testing.assert_close(z[..., [0, 2, 4]], base[[0, 2, 4]].expand(9, 9, 3))
    # Top-left image: lowest x, highest y.
    top_left = base.clone()
    top_left[1], top_left[3] = values[0], values[-1]
    torch.testing.assert_close(grid[0, 0], direct_decode(model, top_left[None])[0])


def test_manifold_grid_in_box_spans_the_box_linearly():
    model = tiny_model(latent_dim=2)
    grid, xs, ys = analysis.manifold_grid_in_box(model, (-1.0, 3.0), (0.0, 2.0), n=5)
    assert grid.shape == (5, 5, 1, 8, 8)
    torch.testing.assert_close(xs, torch.linspace(-1, 3, 5))
    torch.testing.assert_close(ys, torch.linspace(0, 2, 5))
    torch.testing.assert_close(grid[-1, -1], direct_decode(model, torch.tensor([[3.0, 0.0]]))[0])
    with pytest.raises(ValueError, match="two different"):
        analysis.manifold_grid_in_box(model, (0, 1), (0, 1), n=3, dims=(0, 0))


def test_prior_samples_are_deterministic_for_a_seed():
    model = tiny_model(latent_dim=5)
    torch.manual_seed(11)
    expected_next = torch.rand(2)
    torch.manual_seed(11)
    first = analysis.prior_samples(model, 6, seed=4)
    assert torch.equal(torch.rand(2), expected_next)
    assert first.shape == (6, 1, 8, 8)
    assert torch.equal(first, analysis.prior_samples(model, 6, seed=4))
    assert not torch.equal(first, analysis.prior_samples(model, 6, seed=5))
    assert 0.0 <= first.min() and first.max() <= 1.0


def test_reconstructions_decode_the_posterior():
    model, x = tiny_model(latent_dim=5), images(4)
    with torch.no_grad():
        mu, _ = model.encode(x)
    torch.testing.assert_close(analysis.reconstruct(model, x), direct_decode(model, mu))
    samples = analysis.stochastic_reconstructions(model, x, n_samples=3, seed=0)
    assert samples.shape == (3, 4, 1, 8, 8)
    assert not torch.equal(samples[0], samples[1])
    assert torch.equal(samples, analysis.stochastic_reconstructions(model, x, n_samples=3, seed=0))


def test_autoencoder_stochastic_reconstructions_all_equal_the_reconstruction():
    model, x = tiny_model(kind="ae"), images(4)
    samples = analysis.stochastic_reconstructions(model, x, n_samples=3)
    for sample in samples:
        torch.testing.assert_close(sample, analysis.reconstruct(model, x))


# --- latent paths and overlays ------------------------------------------------------------------


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


# --- nearest training image ---------------------------------------------------------------------


def test_nearest_training_image_finds_an_exact_copy():
    train_x = images(500)
    queries = torch.cat([train_x[[17, 423]], images(3, seed=9)])
    indices, distances = analysis.nearest_training_image(queries, train_x, chunk_size=64)
    assert indices.shape == distances.shape == (5,)
    assert indices[:2].tolist() == [17, 423]
    assert distances[:2].abs().max() < 1e-6
    brute = (queries.flatten(1)[:, None] - train_x.flatten(1)[None]).norm(dim=-1)  # [5, 500], exact
    assert indices.tolist() == brute.argmin(1).tolist()
    torch.testing.assert_close(distances, brute.min(1).values, rtol=1e-4, atol=1e-4)
    single_index, _ = analysis.nearest_training_image(train_x[99], train_x)
    assert single_index.tolist() == [99]
    with pytest.raises(ValueError, match="do not match"):
        analysis.nearest_training_image(torch.rand(2, 1, 4, 4), train_x)


def test_a_pca_basis_fitted_on_the_codes_projects_new_points_like_the_codes():
    from vae_core.analysis import pca_basis, project_2d, project_with_basis

    mu = torch.randn(500, 6, generator=torch.Generator().manual_seed(0)) * torch.tensor([3.0, 2.0, 1, 1, 1, 1])
    basis = pca_basis(mu)
    np.testing.assert_allclose(project_with_basis(mu, basis), project_2d(mu, "pca"), atol=1e-10)
    # A new point lands where the same point among the codes would.
    np.testing.assert_allclose(project_with_basis(mu[:1], basis), project_2d(mu, "pca")[:1], atol=1e-10)
