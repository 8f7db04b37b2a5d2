import numpy as np

from explorer.figures.lessons import (
    CLICK_GRID_NAME,
    clickable_map,
    decoder_variance_figure,
    elbo_figure,
    gradient_norms_figure,
    normal_densities_figure,
    reparameterization_figure,
)
from vae_core.analysis.lessons import normal_densities, normal_kl, reparameterized_points


def test_clickable_map_covers_the_plane_with_invisible_targets():
    points = np.random.default_rng(0).normal(size=(30, 2))
    grid = np.linspace(-3, 3, 7)
    fig = clickable_map(points, np.arange(30) % 2, ["even", "odd"], grid, grid, chosen=[0.5, -0.5], title="VAE")
    targets = [t for t in fig.data if t.name == CLICK_GRID_NAME][0]
    assert len(targets.x) == 49 and targets.marker.color == "rgba(0,0,0,0)"
    assert any(t.name == "decoded point" for t in fig.data)
    assert fig.layout.xaxis.range[0] < -3


def test_normal_densities_figure_states_the_kl():
    xs, q, p = normal_densities(1.0, 0.5)
    kl = normal_kl(1.0, 0.5)
    fig = normal_densities_figure(xs, q, p, 1.0, 0.5, kl)
    assert f"{kl:.3f} nats" in fig.layout.title.text and len(fig.data) == 2


def test_reparameterization_figure_draws_eps_z_and_mu():
    eps, z = reparameterized_points([2.0, 1.0], [0.5, 0.3], n=100)
    fig = reparameterization_figure(eps, z, [2.0, 1.0], [0.5, 0.3])
    assert [t.name for t in fig.data] == ["ε ~ N(0, I)", "z = μ + ε·σ", "μ ± 2σ", "μ"]


def test_elbo_figure_adds_up_and_shows_iwae():
    fig = elbo_figure(-90.0, 10.0, -100.0, -97.0, k=100)
    waterfall, iwae = fig.data
    assert list(waterfall.y) == [-90.0, -10.0, -100.0] and list(iwae.y) == [-97.0]
    assert "higher is better" in fig.layout.yaxis.title.text


def test_gradient_norms_figure_labels_missing_gradients_none():
    grads = {"with_trick": {"encoder": 2.5, "decoder": 4.0}, "without_trick": {"encoder": None, "decoder": 3.0}}
    fig = gradient_norms_figure(grads)
    assert list(fig.data[1].text) == ["None", "3"] and list(fig.data[1].y) == [0.0, 3.0]


def test_decoder_variance_figure_uses_a_log_axis():
    fig = decoder_variance_figure([0.01, 0.1, 1.0], [50.0, 80.0, 700.0], [20.0, 8.0, 2.0])
    assert fig.layout.xaxis.type == "log" and len(fig.data) == 2
