"""The posterior q(z|x) = N(μ, diag σ²) and the prior N(0, I) against torch.distributions."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_core.models import DiagonalGaussian, ModelConfig, build_model
from vae_core.models.gaussian import standard_normal_log_prob


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(64, 7) * 2, torch.randn(64, 7)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0))
    q = DiagonalGaussian(mu, logvar)
    torch.testing.assert_close(q.kl_per_dim(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(q.kl(), expected.sum(-1), rtol=1e-5, atol=1e-5)


def test_the_kl_of_half_precision_codes_is_computed_in_float32():
    q = DiagonalGaussian(torch.randn(4, 3).half(), torch.randn(4, 3).half())
    assert q.kl_per_dim().dtype == torch.float32


def test_log_probs_match_torch_distributions_with_sample_dims():
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    z = torch.randn(7, 5, 3)  # 7 samples of each of 5 posteriors
    q = DiagonalGaussian(mu, logvar)
    torch.testing.assert_close(q.log_prob(z), Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1))
    torch.testing.assert_close(standard_normal_log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))
    assert standard_normal_log_prob(torch.zeros(2)).item() == pytest.approx(-math.log(2 * math.pi))


def test_a_sample_is_mu_plus_eps_sigma_with_the_generators_noise():
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2)
    q = DiagonalGaussian(mu, logvar)
    eps = torch.randn((3, 4, 2), generator=torch.Generator().manual_seed(5))
    z = q.sample(3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(z, mu + eps * torch.exp(0.5 * logvar))
    assert q.sample().shape == (4, 2)


def test_samples_follow_the_posterior():
    q = DiagonalGaussian(torch.tensor([[1.0, -2.0]]), torch.tensor([[math.log(0.25), math.log(4.0)]]))
    z = q.sample(200_000, generator=torch.Generator().manual_seed(0))[:, 0]
    torch.testing.assert_close(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([0.5, 2.0]), atol=0.02, rtol=0)


def test_a_vaes_posterior_is_its_encoders_output():
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    x = torch.rand(6, 1, 8, 8)
    q = model.posterior(x)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(q.mu, mu)
    torch.testing.assert_close(q.logvar, logvar)
    torch.testing.assert_close(q.std, torch.exp(0.5 * logvar))
