"""2-D views of latent codes: identity, PCA, t-SNE and the map projection."""
import numpy as np
import pytest
import torch

from vae_core import analysis


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


def test_a_pca_basis_fitted_on_the_codes_projects_new_points_like_the_codes():
    from vae_core.analysis import pca_basis, project_2d, project_with_basis

    mu = torch.randn(500, 6, generator=torch.Generator().manual_seed(0)) * torch.tensor([3.0, 2.0, 1, 1, 1, 1])
    basis = pca_basis(mu)
    np.testing.assert_allclose(project_with_basis(mu, basis), project_2d(mu, "pca"), atol=1e-10)
    # A new point lands where the same point among the codes would.
    np.testing.assert_allclose(project_with_basis(mu[:1], basis), project_2d(mu, "pca")[:1], atol=1e-10)


def test_the_map_projection_is_the_identity_up_to_two_dimensions_and_pca_above():
    codes2 = torch.randn(50, 2)
    flat = analysis.map_projection(codes2)
    assert (flat.method, flat.axis_titles) == ("identity", ("z₁", "z₂"))
    np.testing.assert_array_equal(flat(codes2), codes2.double().numpy())
    codes5 = torch.randn(200, 5) * torch.tensor([5.0, 1.0, 0.1, 0.1, 0.1])
    pca = analysis.map_projection(codes5)
    assert (pca.method, pca.axis_titles) == ("pca", ("PC 1 of μ", "PC 2 of μ"))
    np.testing.assert_allclose(pca(codes5), analysis.project_2d(codes5, "pca"), atol=1e-9)
    # A point off the fitted codes goes through the same basis: the codes' mean lands at the origin.
    np.testing.assert_allclose(pca(codes5.double().mean(0, keepdim=True)), [[0.0, 0.0]], atol=1e-9)


def test_a_fixed_subset_is_sorted_distinct_and_the_same_every_time():
    chosen = analysis.fixed_subset(1000, 50, seed=1)
    assert len(set(chosen.tolist())) == 50 and (np.diff(chosen) > 0).all() and chosen.max() < 1000
    np.testing.assert_array_equal(chosen, analysis.fixed_subset(1000, 50, seed=1))
    assert not np.array_equal(chosen, analysis.fixed_subset(1000, 50, seed=2))
    np.testing.assert_array_equal(analysis.fixed_subset(7, 50), np.arange(7))
