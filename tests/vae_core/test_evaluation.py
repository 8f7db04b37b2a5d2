"""vae_core.evaluation: per-image terms add up, the summaries match hand computations, IWAE tightens the ELBO."""
import pytest
import torch

from tests.vae_core.tiny_models import images, tiny_model
from vae_core.evaluation import evaluate, per_image_terms


def test_per_image_terms_add_up_to_neg_elbo():
    model, x = tiny_model(latent_dim=5), images(50)
    terms = per_image_terms(model, x, batch_size=16)
    assert terms["recon"].shape == terms["kl"].shape == terms["neg_elbo"].shape == (50,)
    assert terms["kl_per_dim"].shape == terms["mu"].shape == (50, 5)
    assert "nll_iw" not in terms
    torch.testing.assert_close(terms["neg_elbo"], terms["recon"] + terms["kl"])
    torch.testing.assert_close(terms["kl"], terms["kl_per_dim"].sum(1))
    assert all(t.device.type == "cpu" for t in terms.values())
    assert (terms["kl"] >= 0).all() and (terms["recon"] > 0).all()


def test_deterministic_terms_do_not_depend_on_batch_size():
    model, x = tiny_model(latent_dim=5), images(50)
    small, large = per_image_terms(model, x, batch_size=7), per_image_terms(model, x, batch_size=1000)
    torch.testing.assert_close(small["kl_per_dim"], large["kl_per_dim"])
    torch.testing.assert_close(small["mu"], large["mu"])


def test_returned_tensors_can_be_edited_outside_inference_mode():
    terms = per_image_terms(tiny_model(), images(4))
    assert not terms["mu"].is_inference()
    terms["mu"][0, 0] = 1.0


def test_seed_makes_evaluation_reproducible_without_touching_global_rng():
    model, x = tiny_model(), images(40)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = evaluate(model, x, seed=7, iw_samples=4)
    assert torch.equal(torch.rand(3), expected_next)
    second = evaluate(model, x, seed=7, iw_samples=4)
    assert first == second
    assert evaluate(model, x, seed=8)["recon"] != first["recon"]


def test_evaluate_summaries_match_hand_computation():
    model, x = tiny_model(latent_dim=5), images(80)
    # Dims 3 and 4 of μ ignore the input, so they must count as inactive.
    mu_layer = model.encoder.body[-1][-1]
    with torch.no_grad():
        mu_layer.weight[3:5] = 0.0
    result = evaluate(model, x, batch_size=32, seed=0)
    terms = per_image_terms(model, x, batch_size=32, generator_seed=0)
    with torch.no_grad():
        mu, _ = model.encode(x)
    hand_active = int((mu.var(0) > 0.01).sum())
    assert result["active_units"] == hand_active
    assert result["active_units"] <= 3
    assert result["n"] == 80
    assert result["neg_elbo"] == pytest.approx(terms["neg_elbo"].mean().item(), rel=1e-5)
    assert result["recon"] + result["kl"] == pytest.approx(result["neg_elbo"], rel=1e-5)
    assert result["kl_per_dim"] == pytest.approx(terms["kl_per_dim"].mean(0).tolist(), rel=1e-5)
    assert isinstance(result["kl_per_dim"], list) and len(result["kl_per_dim"]) == 5
    assert all(isinstance(result[k], float) for k in ("neg_elbo", "recon", "kl"))


def test_kl_per_dim_matches_torch_distributions():
    model, x = tiny_model(latent_dim=5), images(30)
    terms = per_image_terms(model, x)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))
    torch.testing.assert_close(terms["kl_per_dim"], expected, rtol=1e-5, atol=1e-6)


def test_importance_weighted_nll_is_below_neg_elbo():
    model, x = tiny_model(latent_dim=2), images(100)
    terms = per_image_terms(model, x, iw_samples=256, batch_size=50, generator_seed=0)
    assert terms["nll_iw"].shape == (100,)
    # −IWAE_k ≤ −ELBO in expectation; with k = 256 the gap dwarfs the single-sample noise.
    assert terms["nll_iw"].mean() < terms["neg_elbo"].mean()
    result = evaluate(model, x, iw_samples=256, seed=0)
    assert result["nll_iw"] < result["neg_elbo"]


def test_autoencoder_has_no_kl_and_no_iw_estimate():
    model, x = tiny_model(kind="ae"), images(20)
    result = evaluate(model, x, iw_samples=10)
    assert "nll_iw" not in result
    assert result["kl"] == 0.0 and result["neg_elbo"] == pytest.approx(result["recon"])


def test_empty_set_is_rejected():
    with pytest.raises(ValueError, match="at least one image"):
        evaluate(tiny_model(), torch.zeros(0, 1, 8, 8))
