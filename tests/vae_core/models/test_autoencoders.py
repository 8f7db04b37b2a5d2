import json
import math

import pytest
import torch

from vae_core.models import AE, VAE, ModelConfig, build_model

SHAPES = [("mlp", (1, 28, 28)), ("mlp", (1, 8, 8)), ("conv", (1, 28, 28)), ("conv", (3, 32, 32)), ("conv", (1, 64, 64))]


@pytest.mark.parametrize("arch,shape", SHAPES)
@pytest.mark.parametrize("kind", ["vae", "ae"])
def test_every_architecture_decodes_to_the_input_shape(arch, shape, kind):
    cfg = ModelConfig(kind=kind, arch=arch, image_shape=shape, latent_dim=3, hidden_sizes=(32,), conv_channels=(8, 16))
    model = build_model(cfg)
    x = torch.rand(4, *shape)
    terms = model(x)
    assert model.decode(terms.z).shape == x.shape
    assert terms.recon.shape == terms.kl.shape == terms.neg_elbo.shape == (4,)
    assert terms.kl_per_dim.shape == (4, 3)


def test_vae_and_ae_share_encoder_and_decoder_families():
    vae = build_model(ModelConfig(kind="vae", latent_dim=2, hidden_sizes=(64,)))
    ae = build_model(ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(64,)))
    assert isinstance(vae, VAE) and isinstance(ae, AE)
    dec_shapes = lambda m: [p.shape for p in m.decoder.parameters()]
    assert dec_shapes(vae) == dec_shapes(ae)
    enc_vae = [p.shape for p in vae.encoder.parameters()]
    enc_ae = [p.shape for p in ae.encoder.parameters()]
    assert enc_vae[:-2] == enc_ae[:-2]  # same body; only the output layer differs (2d vs d)


def test_ae_has_no_kl_and_its_code_is_deterministic():
    ae = build_model(ModelConfig(kind="ae", latent_dim=4, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    x = torch.rand(5, 1, 8, 8)
    a, b = ae(x), ae(x)
    assert torch.equal(a.z, b.z)
    assert torch.all(a.kl == 0)
    assert torch.equal(a.neg_elbo, a.recon)
    assert ae.encode(x)[1] is None


def test_latent_dim_range_is_1_to_128():
    build_model(ModelConfig(latent_dim=1, hidden_sizes=(8,), image_shape=(1, 8, 8)))
    build_model(ModelConfig(latent_dim=128, hidden_sizes=(8,), image_shape=(1, 8, 8)))
    for bad in (0, 129):
        with pytest.raises(ValueError, match="latent dimension"):
            ModelConfig(latent_dim=bad)


def test_config_round_trips_through_json():
    cfg = ModelConfig(kind="ae", arch="conv", image_shape=(3, 32, 32), latent_dim=16, hidden_sizes=(128,),
                      conv_channels=(16, 32, 64), likelihood="gaussian", c=0.05)
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize(
    "patch,match",
    [
        ({"kind": "gan"}, "model kind"),
        ({"arch": "transformer"}, "architecture"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"latent_dim": "2"}, "latent_dim.*integer"),
        ({"latent_dim": True}, "latent_dim.*integer"),
        ({"c": -1.0}, "decoder variance c"),
        ({"c": "small"}, "'c'.*number"),
        ({"hidden_sizes": [512, "a"]}, "hidden_sizes.*integers"),
        ({"image_shape": [2, 28, 28]}, "channels"),
        ({"arch": "conv", "image_shape": [1, 30, 30]}, "conv architecture"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_config_values_name_the_field(patch, match):
    data = ModelConfig().to_dict() | patch
    with pytest.raises(ValueError, match=match):
        ModelConfig.from_dict(data)


def test_gaussian_learned_variance_is_a_parameter_and_fixed_c_is_not():
    learned = build_model(ModelConfig(likelihood="gaussian-learned", c=0.5, hidden_sizes=(8,), image_shape=(1, 8, 8)))
    fixed = build_model(ModelConfig(likelihood="gaussian", c=0.5, hidden_sizes=(8,), image_shape=(1, 8, 8)))
    assert any(p is learned.log_c for p in learned.parameters())
    assert not any(p is fixed.log_c for p in fixed.parameters())
    assert math.isclose(fixed.log_c.item(), math.log(0.5), rel_tol=1e-6)
