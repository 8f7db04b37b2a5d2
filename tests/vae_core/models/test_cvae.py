"""The conditional VAE: q(z|x, y) and p(x|z, y) read the label, the prior stays N(0, I)."""
import base64
import json

import numpy as np
import pytest
import torch

from vae_core.analysis import class_style_grid, decode_every_class, encode_dataset, reconstruct
from vae_core.cli import main
from vae_core.data import ImageDataset
from vae_core.evaluation import evaluate
from vae_core.models import CVAE, ModelConfig, build_model
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.format import validate_run_config
from vae_core.serving.decoder_export import export_mlp_decoder
from vae_core.training.config import TrainConfig
from vae_core.training.loop import train

SHAPE = (1, 8, 8)


def tiny_cvae(arch="mlp", shape=SHAPE, num_classes=3, latent_dim=2) -> CVAE:
    cfg = ModelConfig(kind="cvae", arch=arch, image_shape=shape, latent_dim=latent_dim, hidden_sizes=(16,),
                      conv_channels=(4, 8), num_classes=num_classes)
    return build_model(cfg)


def tiny_dataset(n=60, num_classes=3, has_labels=True) -> ImageDataset:
    # Each class is a random binary prototype with 5% of its pixels flipped, so there is something to learn.
    g = torch.Generator().manual_seed(0)
    prototypes = torch.rand((num_classes, *SHAPE), generator=g).round()
    y = torch.arange(n) % num_classes
    flips = (torch.rand((n, *SHAPE), generator=g) < 0.05).float()
    x = (prototypes[y] - flips).abs()
    y = y if has_labels else torch.zeros(n, dtype=torch.long)
    names = [str(k) for k in range(num_classes)] if has_labels else ["unlabelled"]
    return ImageDataset("test", x[:40], y[:40], x[40:], y[40:], names, has_labels=has_labels)


@pytest.mark.parametrize("arch,shape", [("mlp", (1, 8, 8)), ("conv", (1, 28, 28)), ("conv", (3, 32, 32))])
def test_forward_and_decode_shapes(arch, shape):
    model = tiny_cvae(arch, shape, latent_dim=3)
    x, y = torch.rand(5, *shape), torch.tensor([0, 1, 2, 0, 1])
    terms = model(x, y)
    assert terms.recon.shape == terms.kl.shape == terms.neg_elbo.shape == (5,)
    assert terms.mu.shape == terms.z.shape == terms.kl_per_dim.shape == (5, 3)
    assert model.decode(terms.z, y).shape == x.shape
    assert model.decode(torch.zeros(4, 3), 2).shape == (4, *shape)  # one int labels the whole batch
    assert torch.allclose(terms.neg_elbo, terms.recon + terms.kl)


@pytest.mark.parametrize("arch,shape", [("mlp", SHAPE), ("conv", (1, 28, 28))])
def test_the_label_changes_both_the_decoding_and_the_encoding(arch, shape):
    model = tiny_cvae(arch, shape).eval()
    z = torch.randn(4, 2)
    assert not torch.allclose(model.decode(z, 0), model.decode(z, 1))
    x = torch.rand(4, *shape)
    assert not torch.allclose(model.encode(x, 0)[0], model.encode(x, 2)[0])


def test_a_missing_label_is_a_clear_error():
    model = tiny_cvae()
    with pytest.raises(ValueError, match="needs the class label"):
        model.decode(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="needs the class label"):
        model(torch.rand(2, *SHAPE))


def test_unconditional_models_ignore_labels():
    vae = build_model(ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=SHAPE)).eval()
    z = torch.randn(3, 2)
    assert torch.equal(vae.decode(z), vae.decode(z, torch.tensor([0, 1, 2])))
    assert not vae.is_conditional and tiny_cvae().is_conditional


@pytest.mark.parametrize("bad", [None, 1, 0, "10", 2.0, True, 1001])
def test_num_classes_must_be_an_integer_of_at_least_two(bad):
    with pytest.raises(ValueError, match="number of classes|num_classes"):
        ModelConfig.from_dict({"kind": "cvae", "num_classes": bad})


def test_only_a_cvae_takes_num_classes():
    with pytest.raises(ValueError, match="only a 'cvae'"):
        ModelConfig(kind="vae", num_classes=10)


def test_old_configs_without_num_classes_still_load():
    old = {"kind": "vae", "arch": "mlp", "image_shape": [1, 28, 28], "latent_dim": 2, "hidden_sizes": [8],
           "conv_channels": [4], "likelihood": "bernoulli", "c": 1.0}
    assert ModelConfig.from_dict(old).num_classes == 0


def test_config_round_trips_through_json_and_the_upload_validation(tmp_path):
    model = tiny_cvae(num_classes=4)
    cfg = model.config
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    run_dir = save_run(tmp_path / "cvae-run", model, train_config=None, metrics={"history": [], "steps": []},
                       dataset_info={"spec": "test", "seed": 0, "image_shape": list(SHAPE), "class_names": list("abcd")})
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["kind"] == "cvae" and config["model"]["num_classes"] == 4
    validate_run_config(config)
    config["model"]["num_classes"] = 1
    with pytest.raises(ValueError, match="number of classes"):
        validate_run_config(config)


def test_save_and_load_keep_the_decoder(tmp_path):
    model = tiny_cvae().eval()
    run_dir = save_run(tmp_path / "r", model, train_config=None, metrics={"history": [], "steps": []},
                       dataset_info={"spec": "test", "seed": 0, "image_shape": list(SHAPE), "class_names": list("abc")})
    loaded = load_run(run_dir).model
    assert isinstance(loaded, CVAE) and loaded.config == model.config
    z = torch.randn(5, 2)
    with torch.inference_mode():
        assert torch.equal(loaded.decode(z, 1), model.decode(z, 1))


def test_training_lowers_the_bound_and_iwae_is_at_least_the_elbo():
    data = tiny_dataset()
    model = tiny_cvae()
    before = evaluate(model.eval(), data.test_x, y=data.test_y, seed=0)["neg_elbo"]
    result = train(model, data, TrainConfig(epochs=5, batch_size=20, lr=1e-2, seed=0, device="cpu"))
    after = evaluate(result.model, data.test_x, y=data.test_y, iw_samples=200, seed=0)
    assert after["neg_elbo"] < before
    assert after["nll_iw"] <= after["neg_elbo"]  # −IWAE_k ≤ −ELBO on average, nats per image
    assert after["neg_elbo"] == pytest.approx(after["recon"] + after["kl"], rel=1e-6)
    assert result.history[-1]["test"]["neg_elbo"] > 0


def test_training_refuses_unlabelled_data_and_too_many_classes():
    with pytest.raises(ValueError, match="needs a labelled dataset"):
        train(tiny_cvae(), tiny_dataset(has_labels=False), TrainConfig(epochs=1, device="cpu"))
    with pytest.raises(ValueError, match="4 classes .* num_classes = 3"):
        train(tiny_cvae(num_classes=3), tiny_dataset(num_classes=4), TrainConfig(epochs=1, device="cpu"))


def test_encoding_and_reconstruction_use_the_true_labels():
    model = tiny_cvae().eval()
    data = tiny_dataset()
    mu, logvar = encode_dataset(model, data.test_x, y=data.test_y)
    assert torch.allclose(mu, model.encode(data.test_x, data.test_y)[0])
    assert logvar.shape == mu.shape
    assert reconstruct(model, data.test_x[:3], data.test_y[:3]).shape == (3, *SHAPE)


def test_one_style_decoded_as_every_class():
    model = tiny_cvae().eval()
    z = torch.randn(2)
    row = decode_every_class(model, z)
    assert row.shape == (3, *SHAPE)
    assert torch.allclose(row[1], model.decode(z[None], 1)[0])
    grid = class_style_grid(model, 4, seed=0)
    assert grid.shape == (3, 4, *SHAPE)
    assert torch.equal(grid, class_style_grid(model, 4, seed=0))
    with pytest.raises(ValueError, match="conditional"):
        decode_every_class(build_model(ModelConfig(hidden_sizes=(8,), image_shape=SHAPE)), z)


def test_the_browser_export_of_one_class_decodes_like_the_model():
    model = tiny_cvae().eval()
    export = export_mlp_decoder(model, label=2)
    assert export["latent_dim"] == 2 and export["layers"][0]["in"] == 2
    h = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    z = torch.from_numpy(h.copy())
    for layer in export["layers"]:
        w = np.frombuffer(base64.b64decode(layer["weight"]), "<f4").reshape(layer["out"], layer["in"])
        b = np.frombuffer(base64.b64decode(layer["bias"]), "<f4")
        h = h @ w.T + b
        h = np.maximum(h, 0) if layer["activation"] == "relu" else 1 / (1 + np.exp(-h))
    with torch.inference_mode():
        expected = model.decode(z, 2).flatten(1).numpy()
    assert np.allclose(h, expected, atol=1e-5)
    assert export_mlp_decoder(model, label=1)["sha256"] != export["sha256"]
    with pytest.raises(ValueError, match="one class"):
        export_mlp_decoder(model)


def test_cli_trains_evaluates_and_samples_a_cvae(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--model", "cvae", "--hidden-sizes", "32", "--epochs", "1",
                 "--out", str(tmp_path), "--name", "c", "--quiet"]) == 0
    run = load_run(tmp_path / "c")
    assert run.model_config.kind == "cvae" and run.model_config.num_classes == 10
    assert main(["evaluate", str(tmp_path / "c"), "--iw-samples", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["nll_iw"] <= out["neg_elbo"] + 1.0
    from PIL import Image

    assert main(["sample", str(tmp_path / "c"), "--n", "30", "--out", str(tmp_path / "grid.png"), "--scale", "1"]) == 0
    assert Image.open(tmp_path / "grid.png").size == (3 * 10 + 2, 10 * 10 + 2)  # 3 styles × 10 classes of 8 px
    assert main(["sample", str(tmp_path / "c"), "--label", "7", "--n", "4", "--out", str(tmp_path / "seven.png")]) == 0
    with pytest.raises(SystemExit):
        main(["sample", str(tmp_path / "c"), "--label", "12", "--out", str(tmp_path / "x.png")])
    assert "--label" in capsys.readouterr().err
