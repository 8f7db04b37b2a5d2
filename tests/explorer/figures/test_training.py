import numpy as np

from explorer.figures.training import snapshot_figure, training_curves
from vae_core.analysis import map_projection


def step(progress, value):
    return {"kind": "step", "epoch_progress": progress, "train": {"neg_elbo": value, "recon": value - 5, "kl": 5.0}}


def epoch(n, value):
    return {
        "kind": "epoch", "epoch": n,
        "train": {"neg_elbo": value, "recon": value - 5, "kl": 5.0},
        "test": {"neg_elbo": value + 1, "recon": value - 4, "kl": 5.0},
    }  # fmt: skip


def test_training_curves_have_step_train_and_test_traces_per_panel():
    steps = [step(0.5, 100.0), step(1.0, 90.0), step(1.5, 85.0), step(2.0, 80.0)]
    history = [epoch(1, 95.0), epoch(2, 82.0)]
    fig = training_curves(steps, history)
    assert len(fig.data) == 9
    assert list(fig.data[0].x) == [0.5, 1.0, 1.5, 2.0]
    test_kl = [t for t in fig.data if t.name == "test"][2]
    assert list(test_kl.y) == [5.0, 5.0]
    assert "nats per image" in fig.layout.yaxis.title.text
    assert "lower is better" in fig.layout.annotations[0].text


def test_training_curves_for_an_ae_and_with_no_records_yet():
    assert len(training_curves([], [], is_variational=False).data) == 3
    partial = dict(epoch(1, 95.0), test=None)
    fig = training_curves([step(0.5, 100.0)], [partial])
    assert [len(t.x) for t in fig.data[:3]] == [1, 1, 0]


def test_snapshot_figure_keeps_at_least_the_prior_scale():
    points = np.random.default_rng(0).normal(size=(50, 2)) * 0.1
    fig = snapshot_figure(points, np.arange(50) % 3, ["a", "b", "c"], epoch=0,
                          axis_titles=map_projection(points).axis_titles, latent_dim=2)
    assert fig.layout.xaxis.range == (-3.0, 3.0) and "before training" in fig.layout.title.text
    codes = np.random.default_rng(1).normal(size=(50, 8))
    wide = snapshot_figure(points * 100, np.zeros(50), ["a"], epoch=2, axis_titles=map_projection(codes).axis_titles,
                           latent_dim=8)
    assert wide.layout.xaxis.range[1] > 3 and wide.layout.xaxis.title.text == "PC 1 of μ"
    assert "after 2 epochs" in wide.layout.title.text


def test_a_one_dimensional_snapshot_leaves_its_second_axis_unused():
    codes = np.random.default_rng(2).normal(size=(20, 1))
    projection = map_projection(codes)
    fig = snapshot_figure(projection(codes), np.zeros(20), ["a"], epoch=1, axis_titles=projection.axis_titles,
                          latent_dim=1)
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("z₁", "(unused)")
