"""The Train form puts each refused value under the field its ConfigError names, whatever the message says."""
import pytest

from explorer.widgets.train_form import FORM_FIELDS, form_field
from tests.explorer.train_page import browser_jobs
from vae_core.fields import ConfigError
from vae_core.models import ModelConfig
from vae_core.runs.names import RunNameTaken, sanitize_run_name
from vae_core.training.config import TrainConfig


@pytest.mark.parametrize("config_field, form", [
    ("lr", "lr"), ("epochs", "epochs"), ("latent_dim", "latent_dim"), ("dataset", "dataset"), ("c", "c"),
    ("hidden_sizes", "layers"), ("conv_channels", "layers"), ("image_shape", "arch"), ("num_classes", "kind"),
    ("name", "run_name"),
])  # fmt: skip
def test_a_config_field_lands_under_its_form_field(config_field, form):
    assert form_field(ConfigError(config_field, "whatever the wording"), "epochs") == form


def test_a_field_the_form_lacks_and_a_plain_value_error_go_to_the_default():
    assert form_field(ConfigError("free_bits", "free bits: ..."), "epochs") == "epochs"
    assert form_field(ValueError("no field here"), "run_name") == "run_name"
    assert set(FORM_FIELDS) >= {"lr", "layers", "arch", "kind", "run_name", "dataset"}


def raised(make) -> ValueError:
    with pytest.raises(ValueError) as info:
        make()
    return info.value


def test_vae_cores_own_errors_land_under_their_fields():
    assert form_field(raised(lambda: TrainConfig(lr=-0.01)), "epochs") == "lr"
    assert form_field(raised(lambda: TrainConfig(batch_size=0)), "epochs") == "batch_size"
    assert form_field(raised(lambda: ModelConfig(hidden_sizes=())), "arch") == "layers"
    assert form_field(raised(lambda: ModelConfig(arch="conv", image_shape=(1, 8, 8))), "epochs") == "arch"
    assert form_field(raised(lambda: sanitize_run_name("../escape")), "epochs") == "run_name"
    assert form_field(RunNameTaken("run name 'x': a run of that name exists"), "epochs") == "run_name"


def walk(node):
    """The page's elements in the order they are drawn."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def error_under(at, widget_key: str) -> str | None:
    """The message of the st.error drawn right after the widget `widget_key`, or None."""
    elements = list(walk(at.main))
    position = next(i for i, e in enumerate(elements) if getattr(e, "key", None) == widget_key)
    following = elements[position + 1] if position + 1 < len(elements) else None
    return following.value if type(following).__name__ == "Error" else None


@pytest.fixture
def train_page(open_page):
    return open_page("page_scripts/train.py")


def test_a_negative_learning_rate_is_shown_under_the_learning_rate(train_page):
    at = train_page
    at.number_input(key="train_lr").set_value(-0.01)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert error_under(at, "train_lr").startswith("learning rate")
    assert error_under(at, "train_epochs") is None and error_under(at, "train_run_name") is None
    assert not browser_jobs(at)


def test_a_taken_run_name_is_shown_under_the_run_name(train_page, tiny_runs_dir):
    at = train_page
    assert (tiny_runs_dir / "ae-mlp-2d-digits").is_dir()
    at.text_input(key="train_run_name").set_value("ae-mlp-2d-digits")
    at.text_input(key="train_layers").set_value("16")
    at.button(key="train_start").click().run()
    assert not at.exception
    assert error_under(at, "train_run_name").startswith("run name")
    assert not browser_jobs(at)


def test_bad_layer_sizes_are_shown_under_the_layer_sizes(train_page):
    at = train_page
    at.text_input(key="train_layers").set_value("32; lots")
    at.button(key="train_start").click().run()
    assert error_under(at, "train_layers").startswith("hidden sizes: expected whole numbers")
    at.selectbox(key="train_arch").set_value("conv")
    at.text_input(key="train_layers").set_value("8 16")  # spaces are fine; digits' 8×8 images are not, for conv
    at.button(key="train_start").click().run()
    assert error_under(at, "train_layers") is None
    assert error_under(at, "train_arch").startswith("conv architecture")
