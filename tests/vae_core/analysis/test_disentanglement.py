"""MIG and the FactorVAE score on synthetic codes whose answer is known, and shapes rendered from given factors."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import mutual_info_score

from vae_core.analysis.disentanglement import (
    discrete_entropy,
    discrete_mutual_info,
    discretize_factors,
    factor_vae_score,
    histogram_discretize,
    mutual_information_gap,
    score_on_shapes,
)
from vae_core.data.shapes import FACTOR_NAMES, render_shapes, sample_factors
from vae_core.models import ModelConfig, build_model

N = 10_000


@pytest.fixture(scope="module")
def factors():
    return sample_factors(N, torch.Generator().manual_seed(0))


def standardise(factors: torch.Tensor) -> torch.Tensor:
    return (factors - factors.mean(0)) / factors.std(0)


def rotation(size: int, seed: int = 0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q.float()


def test_bins_are_those_of_numpy_histogram_and_digitize():
    values = np.random.default_rng(0).normal(size=(3000, 4))
    values[:, 3] = 2.5  # a constant column: np.histogram widens its range to ±0.5, so one bin
    expected = np.stack([np.digitize(v, np.histogram(v, 20)[1][:-1]) - 1 for v in values.T], axis=1)
    assert np.array_equal(histogram_discretize(values, 20), expected)
    assert histogram_discretize(values, 20).min() == 0 and histogram_discretize(values, 20).max() == 19


def test_mutual_information_matches_sklearn_for_every_pair():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 20, size=(2000, 3))
    factors = np.stack([rng.integers(0, 3, 2000), codes[:, 0] // 4, (codes[:, 1] + rng.integers(0, 2, 2000)) % 20], 1)
    expected = np.array([[mutual_info_score(factors[:, k], codes[:, u]) for k in range(3)] for u in range(3)])
    assert np.allclose(discrete_mutual_info(codes, factors), expected, atol=1e-12)
    assert np.allclose(discrete_entropy(factors), [mutual_info_score(f, f) for f in factors.T], atol=1e-12)


def test_the_shape_keeps_one_bin_per_value_and_continuous_factors_get_20(factors):
    binned = discretize_factors(factors.numpy())
    assert sorted(np.unique(binned[:, 0])) == [0, 1, 2]
    assert all(len(np.unique(binned[:, k])) == 20 for k in range(1, 5))
    # Uniform factors: about log 3 and log 20 nats.
    assert np.allclose(discrete_entropy(binned), [math.log(3)] + [math.log(20)] * 4, atol=0.01)


def test_mig_is_near_1_for_the_factors_themselves_and_near_0_for_noise(factors):
    perfect = mutual_information_gap(factors.numpy(), factors.numpy())
    assert perfect.score > 0.98 and perfect.gap_per_factor.min() > 0.98
    assert np.allclose(perfect.normalized_mutual_info.diagonal(), 1.0)
    noise = torch.randn(N, 5, generator=torch.Generator().manual_seed(1))
    assert mutual_information_gap(noise.numpy(), factors.numpy()).score < 0.02


def test_mig_ignores_scale_and_order_of_the_dimensions_but_not_entanglement(factors):
    perfect = mutual_information_gap(factors.numpy(), factors.numpy()).score
    permuted = standardise(factors)[:, [3, 0, 4, 2, 1]] * torch.tensor([2.0, -1.0, 0.5, 3.0, -0.1])
    assert abs(mutual_information_gap(permuted.numpy(), factors.numpy()).score - perfect) < 1e-9
    # Mixing the factors by a random rotation spreads each one over several dimensions.
    rotated = mutual_information_gap((standardise(factors) @ rotation(5)).numpy(), factors.numpy()).score
    assert 0.03 < rotated < 0.5 * perfect


def test_mig_needs_two_dimensions(factors):
    with pytest.raises(ValueError, match="at least 2 code dimensions"):
        mutual_information_gap(factors[:, :1].numpy(), factors.numpy())


def fv_score(represent, **kw):
    return factor_vae_score(represent, sample_factors, num_train=600, num_eval=400, num_variance_estimate=2000, **kw)


def test_factor_vae_score_is_1_for_a_perfect_code_and_chance_for_noise(factors):
    mean, std = factors.mean(0), factors.std(0)
    perfect = fv_score(lambda f: (f - mean) / std)
    assert perfect.score == 1.0 and perfect.train_accuracy == 1.0 and perfect.active_dims == 5
    assert list(perfect.classifier) == [0, 1, 2, 3, 4]  # dimension u votes for factor u
    assert perfect.train_votes.sum() == 600 and perfect.eval_votes.sum() == 400
    noise = fv_score(lambda f: torch.randn(len(f), 5))
    assert abs(noise.score - 1 / 5) < 0.08  # chance: 1 / (number of factors)


def test_factor_vae_score_of_an_entangled_code_lies_in_between(factors):
    mean, std, q = factors.mean(0), factors.std(0), rotation(5)
    rotated = fv_score(lambda f: ((f - mean) / std) @ q).score
    assert 0.3 < rotated < 0.95


def test_factor_vae_prunes_collapsed_dimensions(factors):
    # A constant dimension has zero variance in every batch; unpruned, it would win every vote (0 / 0).
    mean, std = factors.mean(0), factors.std(0)
    with_dead = fv_score(lambda f: torch.cat([(f - mean) / std, torch.full((len(f), 1), 0.3), 0.01 * torch.randn(len(f), 1)], 1))
    assert with_dead.score == 1.0 and with_dead.active_dims == 5
    assert with_dead.eval_votes[:, 5:].sum() == 0
    nothing = fv_score(lambda f: torch.zeros(len(f), 3))
    assert nothing.score == 0.0 and nothing.active_dims == 0


def test_factor_vae_score_is_fixed_by_its_seed(factors):
    def mixed(f):
        return f[:, 1:3] @ torch.tensor([[1.0, 0.5], [0.5, 1.0]]) + 0.1 * f[:, 3:5]

    a, b, c = fv_score(mixed, seed=3), fv_score(mixed, seed=3), fv_score(mixed, seed=4)
    assert np.array_equal(a.eval_votes, b.eval_votes) and not np.array_equal(a.eval_votes, c.eval_votes)


def test_rendering_from_given_factors_is_deterministic_and_batch_independent(factors):
    some = factors[:200]
    batch = render_shapes(some, 32)
    assert torch.equal(batch, render_shapes(some.clone(), 32))
    one_by_one = torch.cat([render_shapes(some[i : i + 1], 32) for i in (0, 57, 199)])
    assert torch.equal(batch[[0, 57, 199]], one_by_one)


def test_holding_one_factor_fixes_what_it_controls(factors):
    batch = factors[:64].clone()
    batch[:, FACTOR_NAMES.index("x")] = 0.25
    batch[:, FACTOR_NAMES.index("y")] = 0.75
    images = render_shapes(batch, 64)[:, 0]
    cols = (images.sum(1) * torch.arange(64)).sum(1) / images.sum((1, 2))
    rows = (images.sum(2) * torch.arange(64)).sum(1) / images.sum((1, 2))
    # Every shape sits around the same centre; free positions would spread over the whole image.
    assert cols.std() < 1.5 and rows.std() < 1.5 and cols.mean() < rows.mean()
    squares = factors[:64].clone()
    squares[:, 0] = 0
    same_area = render_shapes(squares, 64).sum((1, 2, 3)) / (squares[:, 1] ** 2)
    assert same_area.std() / same_area.mean() < 0.05  # a square's area follows its scale alone


def test_score_on_shapes_runs_an_encoder_end_to_end():
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(16,), image_shape=(1, 32, 32))).eval()
    mig, factor_vae = score_on_shapes(model, 32, mig_samples=500, factor_vae_train=50, factor_vae_eval=30, factor_vae_batch=8)
    assert 0 <= mig.score <= 1 and mig.mutual_info.shape == (3, 5)
    assert 0 <= factor_vae.score <= 1 and factor_vae.eval_votes.sum() in (0, 30)
