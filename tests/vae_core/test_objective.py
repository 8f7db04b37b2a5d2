"""The maths: KL, likelihoods, the IWAE bound and the reparameterization trick against closed forms."""
import math

import torch
from torch.distributions import Bernoulli, Normal

from vae_core.models import ModelConfig, build_model
from vae_core.models.likelihood import neg_log_likelihood
from vae_core.objective import iwae_bound, kl_weight, training_loss


def test_bernoulli_nll_matches_closed_form_including_extreme_logits():
    x = torch.rand(6, 1, 4, 4).round()
    logits = torch.randn(6, 1, 4, 4) * 5
    expected = -Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    got = neg_log_likelihood(x, logits, "bernoulli", torch.tensor(0.0))
    torch.testing.assert_close(got, expected)
    huge = torch.full((1, 1, 2, 2), 200.0)
    assert torch.isfinite(neg_log_likelihood(torch.zeros(1, 1, 2, 2), huge, "bernoulli", torch.tensor(0.0))).all()


def test_gaussian_nll_is_the_lectures_formula_in_nats():
    c = 0.3
    x, logits = torch.rand(5, 1, 3, 3), torch.randn(5, 1, 3, 3)
    mean = torch.sigmoid(logits)
    d = 9
    formula = ((x - mean) ** 2).flatten(1).sum(1) / (2 * c) + d / 2 * math.log(2 * math.pi * c)
    closed = -Normal(mean, math.sqrt(c)).log_prob(x).flatten(1).sum(1)
    got = neg_log_likelihood(x, logits, "gaussian", torch.tensor(math.log(c)))
    torch.testing.assert_close(got, formula)
    torch.testing.assert_close(got, closed)


def test_neg_elbo_is_recon_plus_kl():
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    t = model(torch.rand(10, 1, 8, 8))
    torch.testing.assert_close(t.neg_elbo, t.recon + t.kl)
    torch.testing.assert_close(t.kl, t.kl_per_dim.sum(1))


def _trained_tiny_vae():
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(32,), image_shape=(1, 8, 8)))
    # Data with real 2-D latent structure, so q(z|x) carries information and IWAE has a gap to close.
    z = torch.randn(256, 2)
    x = torch.bernoulli(torch.sigmoid(z @ (torch.randn(2, 64) * 3))).view(256, 1, 8, 8)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(100):
        loss = training_loss(model(x), 1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), x


def test_iwae_is_at_least_the_elbo_and_grows_with_k():
    model, x = _trained_tiny_vae()
    torch.manual_seed(1)
    with torch.inference_mode():
        elbo = -torch.stack([model(x).neg_elbo for _ in range(20)]).mean()
    bounds = {k: iwae_bound(model, x, k).mean() for k in (1, 5, 50, 500)}
    assert abs(bounds[1] - elbo) < 0.5  # IWAE_1 is the ELBO, up to Monte Carlo noise
    # IWAE_1 itself is a one-sample estimate, so the ordering is checked from the 20-sample ELBO.
    assert elbo <= bounds[5] <= bounds[50] <= bounds[500]
    assert bounds[500] - elbo > 0.05


def test_reparameterized_gradients_reach_the_encoder():
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    x = torch.rand(8, 1, 8, 8)
    z = model.posterior(x).sample()
    model.neg_log_likelihood(x, model.decode_logits(z)).sum().backward()
    grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_sampling_without_the_trick_blocks_the_gradient():
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    x = torch.rand(8, 1, 8, 8)
    mu, logvar = model.encode(x)
    z = Normal(mu, (0.5 * logvar).exp()).sample()  # a plain draw: no path from z back to μ, σ
    assert not z.requires_grad
    model.neg_log_likelihood(x, model.decode_logits(z)).sum().backward()
    assert all(p.grad is None for p in model.encoder.parameters())


def test_kl_weight_warms_up_linearly_to_beta():
    assert kl_weight(0.0, 4.0, 10) == 0.0
    assert kl_weight(5.0, 4.0, 10) == 2.0
    assert kl_weight(12.0, 4.0, 10) == 4.0
    assert kl_weight(0.0, 2.0, 0) == 2.0


def test_free_bits_floor_each_dimensions_kl():
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    t = model(torch.rand(8, 1, 8, 8))
    floored = training_loss(t, 1.0, free_bits=100.0)
    torch.testing.assert_close(floored, t.recon.mean() + 300.0)
