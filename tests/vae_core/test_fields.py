"""Values at the edge: the integer and number checks, comma lists, and errors that name their field."""
import math

import pytest

from vae_core.data import parse_spec
from vae_core.fields import ConfigError, is_int, is_number, parse_int_list, parse_number_list
from vae_core.models import ModelConfig
from vae_core.runs.names import RunNameTaken, sanitize_run_name
from vae_core.training.config import TrainConfig


def test_whole_numbers_and_finite_numbers():
    assert is_int(3) and not is_int(True) and not is_int(3.0) and not is_int("3")
    assert is_number(3) and is_number(2.5) and not is_number(False)
    assert not is_number(math.nan) and not is_number(math.inf) and not is_number("1")


@pytest.mark.parametrize("text", ["512, 256", "512,256", "512 256", " 512 ; 256 ", "512,,256,"])
def test_a_comma_list_of_whole_numbers_takes_every_common_separator(text):
    assert parse_int_list(text, "hidden_sizes") == (512, 256)


@pytest.mark.parametrize("text, wanted", [("512, x", "expected whole numbers separated by commas"),
                                          ("2.5", "expected whole numbers"), ("", "expected at least one whole number"),
                                          (" , ", "expected at least one whole number")])
def test_a_bad_comma_list_names_its_field(text, wanted):
    with pytest.raises(ConfigError, match=f"^hidden sizes: {wanted}") as info:
        parse_int_list(text, "hidden_sizes")
    assert info.value.field == "hidden_sizes"


def test_a_comma_list_of_numbers():
    assert parse_number_list("1, 2.5,1e1", "beta") == (1.0, 2.5, 10.0)
    for bad in ("1, nan", "1, two", "", "inf"):
        with pytest.raises(ConfigError, match="^beta: expected finite numbers") as info:
            parse_number_list(bad, "beta")
        assert info.value.field == "beta"


@pytest.mark.parametrize("make, field", [
    (lambda: ModelConfig(latent_dim=0), "latent_dim"),
    (lambda: ModelConfig(arch="conv", image_shape=(1, 8, 8)), "image_shape"),
    (lambda: ModelConfig(arch="mlp", hidden_sizes=()), "hidden_sizes"),
    (lambda: ModelConfig(arch="conv", image_shape=(1, 28, 28), conv_channels=(0,)), "conv_channels"),
    (lambda: ModelConfig(likelihood="gaussian", c=-1.0), "c"),
    (lambda: ModelConfig(kind="cvae"), "num_classes"),
    (lambda: ModelConfig.from_dict({"latent_dim": "2"}), "latent_dim"),
    (lambda: TrainConfig(lr=-0.01), "lr"),
    (lambda: TrainConfig(epochs=0), "epochs"),
    (lambda: TrainConfig(warmup_epochs=-1.0), "warmup_epochs"),
    (lambda: TrainConfig(seed=-1), "seed"),
    (lambda: sanitize_run_name("a/b"), "name"),
    (lambda: parse_spec("nonsense"), "dataset"),
])
def test_config_errors_carry_the_field_they_are_about(make, field):
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_a_taken_run_name_is_an_error_of_the_name_field():
    error = RunNameTaken("run name 'x': a run with this name already exists")
    assert error.field == "name" and isinstance(error, ConfigError)
