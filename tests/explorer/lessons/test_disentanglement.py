"""The Learn page's β-sweep lesson renders a tiny sweep: scores, traversals of the lowest and highest β, factor maps."""
import pytest

from vae_core.models import ModelConfig
from vae_core.sweep import ScoreSettings, run_sweep
from vae_core.training.config import TrainConfig

LESSON = 6


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """A folder holding a two-β sweep on 200 shapes (runs tiny-beta1, tiny-beta4 and tiny-sweep.json)."""
    out = tmp_path_factory.mktemp("sweep-runs")
    run_sweep(
        ModelConfig(latent_dim=3, hidden_sizes=(16,)), TrainConfig(epochs=1, batch_size=32, device="cpu"),
        "shapes:32:200", [1, 4], out, "tiny",
        scores=ScoreSettings(mig_samples=300, factor_vae_train=40, factor_vae_eval=20, factor_vae_batch=8),
    )  # fmt: skip
    return out


def show_lesson(at):
    radio = at.radio(key="learn_lesson")
    radio.set_value(radio.options[LESSON - 1]).run()
    assert not at.exception, at.exception
    return at


def test_the_lesson_shows_both_ends_of_the_sweep(open_page, sweep_dir, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(sweep_dir))
    at = show_lesson(open_page("page_scripts/learn.py"))
    assert at.header[0].value == "6. Disentanglement and β"
    assert at.selectbox(key="l6_sweep").value.name == "tiny-sweep.json"
    text = " ".join(str(m.value) for m in at.markdown)
    assert "**β = 1** · `tiny-beta1`" in text and "**β = 4** · `tiny-beta4`" in text
    assert "| 1 | tiny-beta1 |" in text and "MIG **" in text
    # The score plot, then a traversal grid and a factor map for each of the two models.
    assert len(at.get("plotly_chart")) == 5
    at.number_input(key="l6_image").set_value(3).run()
    assert not at.exception


def test_without_a_sweep_the_lesson_says_how_to_make_one(open_page, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "no-runs"))
    at = show_lesson(open_page("page_scripts/learn.py"))
    info = " ".join(i.value for i in at.info)
    assert "needs a β sweep" in info and "python3 -m vae_core sweep" in info
