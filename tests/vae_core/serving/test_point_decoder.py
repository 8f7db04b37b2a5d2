"""PointDecoder: one latent point through the traced decoder equals model.decode, for every model kind."""
import pytest
import torch

from vae_core.models import ModelConfig, build_model
from vae_core.serving.point_decoder import PointDecoder

CONFIGS = {
    "mlp vae": ModelConfig(latent_dim=3, hidden_sizes=(16, 8), image_shape=(1, 6, 5)),
    "mlp ae": ModelConfig(kind="ae", latent_dim=2, hidden_sizes=(8,), image_shape=(1, 4, 4)),
    "conv vae": ModelConfig(arch="conv", latent_dim=4, conv_channels=(4, 8), image_shape=(1, 28, 28)),
    "conv vae, colour": ModelConfig(arch="conv", latent_dim=2, conv_channels=(4,), image_shape=(3, 32, 32)),
    "gaussian vae": ModelConfig(latent_dim=2, hidden_sizes=(8,), image_shape=(1, 4, 4), likelihood="gaussian", c=0.1),
    "cvae": ModelConfig(kind="cvae", latent_dim=2, hidden_sizes=(8,), image_shape=(1, 4, 4), num_classes=3),
}


def eager(model, z, y=None) -> torch.Tensor:
    with torch.no_grad():
        return model.decode(torch.as_tensor(z, dtype=torch.float32)[None], None if y is None else torch.tensor([y]))[0]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_traced_decoder_equals_the_eager_one(name):
    model = build_model(CONFIGS[name]).eval()
    decoder = PointDecoder(model)
    assert decoder.traced, decoder.why_eager
    for seed in range(4):
        z = torch.randn(model.config.latent_dim, generator=torch.Generator().manual_seed(seed)) * 3
        y = seed % 3 if model.config.kind == "cvae" else None
        for given in (z, z.tolist(), tuple(z.tolist()), z.numpy()):  # the forms the app passes
            image = decoder(given, y)
            assert image.shape == model.config.image_shape and image.dtype == torch.float32
            assert torch.allclose(image, eager(model, z, y), atol=1e-6)
    assert not image.requires_grad and not image.is_inference()  # the caller may edit it


def test_a_cvae_decodes_the_class_it_is_given():
    model = build_model(CONFIGS["cvae"]).eval()
    decoder, z = PointDecoder(model), [0.5, -1.0]
    images = [decoder(z, y) for y in range(3)]
    assert not torch.allclose(images[0], images[1])
    assert torch.allclose(decoder(z, torch.tensor([2])), images[2])
    with pytest.raises(ValueError, match="class label y"):
        decoder(z)
    with pytest.raises(ValueError, match="class label: expected 0 to 2, got 3"):
        decoder(z, 3)


def test_a_point_of_the_wrong_size_is_refused():
    decoder = PointDecoder(build_model(CONFIGS["mlp vae"]).eval())
    with pytest.raises(ValueError, match="expected 3 coordinates, got 2"):
        decoder([0.0, 1.0])


def test_without_tracing_it_decodes_eagerly_and_says_why(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(torch.jit, "trace", refuse)
    model = build_model(CONFIGS["conv vae"]).eval()
    decoder = PointDecoder(model)
    assert not decoder.traced and "no TorchScript here" in decoder.why_eager
    z = [0.3, -0.2, 1.0, 0.0]
    assert torch.allclose(decoder(z), eager(model, z), atol=1e-6)


def test_a_model_in_training_mode_is_not_traced():
    # Tracing would freeze dropout or batch statistics as they are now; the eager decoder stays honest.
    model = build_model(CONFIGS["mlp vae"]).train()
    assert not PointDecoder(model).traced
