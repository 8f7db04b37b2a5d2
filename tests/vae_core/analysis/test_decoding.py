"""Images from latents: traversals, manifold grids, prior samples and reconstructions, each in one decode call."""
import pytest
import torch

from tests.vae_core.tiny_models import DecodeSpy, direct_decode, images, tiny_model
from vae_core import analysis


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
