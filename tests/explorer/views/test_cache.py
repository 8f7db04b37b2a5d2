"""Views are keyed by the run and the dataset they show: equal weights and data share one result, other
weights or other data get their own."""
import pytest
import torch

from explorer.views.cache import dataset_identity, run_identity, shared_result
from explorer.views.explore import where_map
from tests.explorer.conftest import TINY_VAE
from vae_core.data import dataset_info, load_dataset
from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.format import empty_metrics


@pytest.fixture
def vae_dir(tiny_model_dirs):
    return tiny_model_dirs[0] / TINY_VAE


@pytest.fixture
def other_weights_dir(tmp_path):
    """A run of the same architecture and data with other weights."""
    torch.manual_seed(123)
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(32,), image_shape=(1, 8, 8)))
    save_run(tmp_path / "other", model, train_config=None, dataset_info=dataset_info(load_dataset("digits"), 0),
             metrics=empty_metrics())  # fmt: skip
    return tmp_path / "other"


def test_a_run_is_named_by_its_folder_and_its_weights(vae_dir, other_weights_dir):
    run, again = load_run(vae_dir), load_run(vae_dir)
    assert run is not again and run_identity(run) == run_identity(again) == (str(run.path), run.weights_sha256)
    assert run_identity(load_run(other_weights_dir))[1] != run.weights_sha256


def test_a_dataset_is_named_by_its_spec_seed_shape_and_sizes():
    digits = load_dataset("digits", seed=0)
    assert dataset_identity(digits) == ("digits", 0, (1, 8, 8), len(digits.train_x), len(digits.test_x))
    assert dataset_identity(load_dataset("digits", seed=0)) == dataset_identity(digits)
    assert dataset_identity(load_dataset("digits", seed=1)) != dataset_identity(digits)


def test_a_shared_result_is_computed_once_per_run_and_dataset(vae_dir, other_weights_dir):
    calls = []

    @shared_result(max_entries=4)
    def view(run, dataset, option: int):
        calls.append(run.weights_sha256)
        return object()

    digits = load_dataset("digits", seed=0)
    first = view(load_run(vae_dir), digits, 1)
    assert view(load_run(vae_dir), load_dataset("digits", seed=0), 1) is first  # equal run and data: shared
    assert view(load_run(vae_dir), digits, 2) is not first  # another option
    assert view(load_run(other_weights_dir), digits, 1) is not first  # other weights
    assert view(load_run(vae_dir), load_dataset("digits", seed=1), 1) is not first  # another split
    assert len(calls) == 4


def test_a_page_view_is_shared_for_equal_runs_and_differs_for_other_weights(vae_dir, other_weights_dir, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(other_weights_dir.parent))
    digits = load_dataset("digits", seed=0)
    figure, projection = where_map(load_run(vae_dir), digits)
    assert where_map(load_run(vae_dir), load_dataset("digits", seed=0))[0] is figure
    other, _ = where_map(load_run(other_weights_dir), digits)
    assert other is not figure and other["data"] != figure["data"]
    assert projection.method == "identity"
