"""The MLP decoder export: float32 weights that rebuild exactly the decoder's mean image."""
import base64

import numpy as np
import pytest
import torch

from vae_core.models import ModelConfig, build_model
from vae_core.serving.decoder_export import export_mlp_decoder


def floats(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


def numpy_decode(export: dict, z: np.ndarray) -> np.ndarray:
    x = z.astype(np.float32)
    for layer in export["layers"]:
        w = floats(layer["weight"]).reshape(layer["out"], layer["in"])
        x = x @ w.T + floats(layer["bias"])
        if layer["activation"] == "relu":
            x = np.maximum(x, 0)
    return 1 / (1 + np.exp(-x))


def test_export_rebuilds_the_decoder_mean_image():
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(16, 8), image_shape=(1, 6, 5))).eval()
    export = export_mlp_decoder(model)
    assert export["latent_dim"] == 3 and export["image_shape"] == [1, 6, 5]
    assert [(layer["in"], layer["out"], layer["activation"]) for layer in export["layers"]] == [
        (3, 8, "relu"), (8, 16, "relu"), (16, 30, "sigmoid")]
    z = torch.randn(4, 3)
    with torch.inference_mode():
        expected = model.decode(z).reshape(4, -1).numpy()
    assert np.abs(numpy_decode(export, z.numpy()) - expected).max() < 1e-6


def test_the_sha256_changes_with_the_weights():
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(4,), image_shape=(1, 3, 3)))
    before = export_mlp_decoder(model)["sha256"]
    with torch.no_grad():
        model.decoder.body[0].bias += 1
    assert export_mlp_decoder(model)["sha256"] != before


def test_a_conv_decoder_is_refused():
    model = build_model(ModelConfig(arch="conv", latent_dim=2, image_shape=(1, 28, 28), hidden_sizes=(16,)))
    with pytest.raises(ValueError, match="only MLP decoders"):
        export_mlp_decoder(model)
