import numpy as np

from explorer.figures.disentanglement import factor_share_heatmap, sweep_scores_figure


def test_sweep_scores_figure_puts_scores_left_and_kl_right_over_a_log_beta_axis():
    fig = sweep_scores_figure([1, 2, 4, 8], [0.05, 0.1, 0.2, 0.3], [0.4, 0.5, 0.6, 0.7], [20.0, 15.0, 10.0, 6.0])
    mig, factor_vae, kl = fig.data
    assert list(mig.y) == [0.05, 0.1, 0.2, 0.3] and list(factor_vae.y) == [0.4, 0.5, 0.6, 0.7]
    assert kl.yaxis == "y2" and fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "4", "8"]


def test_a_sweep_holding_beta_0_keeps_a_linear_axis():
    assert sweep_scores_figure([0, 1], [0.0, 0.1], [0.2, 0.3], [30.0, 20.0]).layout.xaxis.type == "linear"


def test_factor_share_heatmap_labels_dimensions_and_factors_on_a_0_to_1_scale():
    share = np.array([[0.9, 0.0], [0.1, 0.7], [0.0, 0.0]])
    fig = factor_share_heatmap(share, ["x", "y"], ["z2", "z0", "z1"], title="share")
    heatmap = fig.data[0]
    assert list(heatmap.x) == ["x", "y"] and list(heatmap.y) == ["z2", "z0", "z1"]
    assert (heatmap.zmin, heatmap.zmax) == (0, 1) and heatmap.text[1][1] == "0.70"
