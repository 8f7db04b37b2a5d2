"""Latent-map figures, built as plain functions: traces, overlays and how selections map back to images."""
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from explorer.figures import (
    add_manifold_image,
    add_path,
    add_posterior_ellipses,
    add_prior_contours,
    class_trace_members,
    kl_per_dim_bar,
    latent_map_figure,
    latent_scatter,
    selected_dataset_indices,
)
from vae_core import analysis

NAMES = ["zero", "one", "two"]


def scatter():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    labels = np.array([2, 0, 2, 1])
    return latent_scatter(points, labels, NAMES, index=[10, 11, 12, 13]), labels


def test_scatter_is_webgl_with_one_named_trace_per_class_and_the_image_index_in_customdata():
    fig, _ = scatter()
    assert [t.name for t in fig.data] == ["zero", "one", "two"]
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert list(fig.data[2].customdata) == [10, 12] and list(fig.data[2].x) == [0.0, 2.0]
    assert fig.layout.yaxis.scaleanchor == "x"  # circles stay round


def test_ten_thousand_points_stay_in_a_handful_of_webgl_traces():
    rng = np.random.default_rng(0)
    fig = latent_scatter(rng.standard_normal((10_000, 2)), rng.integers(0, 10, 10_000), [str(i) for i in range(10)])
    assert len(fig.data) == 10 and sum(len(t.x) for t in fig.data) == 10_000


def test_scatter_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="labels"):
        latent_scatter(np.zeros((3, 2)), [0, 1], NAMES)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        latent_scatter(np.zeros((3, 3)), [0, 1, 2], NAMES)


def test_selection_maps_back_to_dataset_indices():
    fig, labels = scatter()
    members = class_trace_members(labels, [10, 11, 12, 13])
    assert [list(m) for m in members] == [[11], [13], [10, 12]]
    points = [
        {"curve_number": 2, "point_index": 1, "customdata": [12]},
        {"curve_number": 0, "point_index": 0},  # no customdata: fall back on the trace's members
        {"curve_number": 2, "point_index": 1, "customdata": 12},  # the same point twice counts once
        {"curve_number": 5, "point_index": 0, "customdata": 3},  # an overlay trace, ignored
    ]
    assert selected_dataset_indices(points, members) == [12, 11]


def test_ellipses_are_one_trace_broken_between_outlines():
    outlines = analysis.posterior_ellipse(np.zeros((3, 2)), np.zeros((3, 2)), n_points=10)
    fig = add_posterior_ellipses(go.Figure(), outlines)
    x = np.asarray(fig.data[0].x, dtype=float)
    assert len(fig.data) == 1 and len(x) == 3 * 11 and np.isnan(x[10::11]).all()
    assert np.nanmax(x) == pytest.approx(2.0)  # μ + 2σ with σ = 1


def test_prior_contours_sit_at_one_two_and_three_sigma():
    xs, ys, density = analysis.prior_density_grid((-4, 4), (-4, 4), n=81)
    fig = add_prior_contours(go.Figure(), xs, ys, density)
    contour = fig.data[0]
    assert (contour.contours.start, contour.contours.end, contour.contours.size) == (1, 3, 1)
    z = np.asarray(contour.z)
    assert z[40, 60] == pytest.approx(2.0)  # the point (2, 0) is at Mahalanobis radius 2
    assert z[40, 40] == pytest.approx(0.0)


def test_manifold_image_covers_the_grid_plus_half_a_step():
    images = torch.rand(5, 5, 1, 4, 4)
    fig = add_manifold_image(go.Figure(), images, torch.linspace(-2, 2, 5), torch.linspace(0, 4, 5))
    image = fig.layout.images[0]
    assert (image.x, image.y) == (-2.5, 4.5) and (image.sizex, image.sizey) == (5.0, 5.0)
    assert image.layer == "below" and image.xref == "x"


def test_path_marks_its_ends():
    fig = add_path(go.Figure(), analysis.interpolate(torch.zeros(2), torch.ones(2), 4))
    assert list(fig.data[0].text) == ["A", "", "", "B"] and list(fig.data[0].y) == pytest.approx([0, 1 / 3, 2 / 3, 1])


def test_latent_map_figure_stacks_overlays_and_fixes_the_visible_plane():
    mu = np.random.default_rng(0).standard_normal((20, 2))
    fig = latent_map_figure(
        mu, np.arange(20) % 3, NAMES,
        ellipses=analysis.posterior_ellipse(mu[:4], np.zeros((4, 2))),
        prior=analysis.prior_density_grid((-3, 3), (-3, 3), 20),
        manifold=(torch.rand(3, 3, 1, 2, 2), torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 3)),
        path=np.zeros((3, 2)), highlight=[0.5, 0.5], axis_ranges=((-3, 3), (-2, 2)),
    )  # fmt: skip
    assert len(fig.data) == 3 + 4 and len(fig.layout.images) == 1
    assert tuple(fig.layout.xaxis.range) == (-3, 3) and tuple(fig.layout.yaxis.range) == (-2, 2)


def test_kl_bar_shows_each_dimension_and_greys_inactive_ones():
    fig = kl_per_dim_bar(torch.tensor([0.001, 2.5, 1.0]), active=[False, True, True])
    bar = fig.data[0]
    assert list(bar.x) == [0, 1, 2] and list(bar.y) == pytest.approx([0.001, 2.5, 1.0])
    assert bar.marker.color[0] != bar.marker.color[1] == bar.marker.color[2]
    assert "nats" in fig.layout.yaxis.title.text
    assert math.isclose(sum(bar.y), 3.501)


def test_a_made_map_gets_its_ring_moved_without_touching_the_original():
    import json

    from explorer.figures import latent_map_figure, with_highlight_at

    points, labels = np.random.default_rng(0).normal(size=(40, 2)), torch.arange(40) % 3
    made = latent_map_figure(points, labels, ["a", "b", "c"], highlight=np.zeros(2)).to_plotly_json()
    before = json.dumps(made, default=str)
    moved = with_highlight_at(made, np.array([1.5, -2.0]))
    moved.update_layout(height=100)  # what a caller may do to its copy
    ring = [t for t in moved.data if t.name == "selected"]
    assert len(ring) == 1 and list(ring[0].x) == [1.5] and list(ring[0].y) == [-2.0]
    assert [t.name for t in moved.data] == ["a", "b", "c", "selected"]
    assert json.dumps(made, default=str) == before
