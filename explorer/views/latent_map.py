"""The Latent map page's shared views: the map for one choice of projection and overlays, one test image's
numbers, and the test set's statistics. Each is the same for every session and shared read-only."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer import state
from explorer.components.latent_map_hover import map_payload
from explorer.figures import class_trace_members, image_grid, image_to_png_bytes, kl_per_dim_bar, latent_map_figure
from explorer.views.cache import shared_result
from explorer.views.hover_preview import PROJECTION_LABELS, hover_preview
from vae_core import analysis
from vae_core.data import ImageDataset
from vae_core.evaluation import ACTIVE_UNIT_THRESHOLD, per_image_terms
from vae_core.runs.checkpoint import Run

TSNE_MAX_POINTS = 5000
ELLIPSES_SEED = 1  # which test images get an ellipse: the same ones for everyone


@dataclass(frozen=True)
class MapView:
    """What the map shows for one choice of view and overlays: the same for every session."""

    index: np.ndarray  # the dataset rows drawn, [M]
    payload: dict  # the hover map's data, without a pinned point
    figure: object  # the plotly map, with selection traces per class
    trace_members: list  # dataset rows of each class trace, for reading a selection


@shared_result(max_entries=16, show_spinner="Projecting the codes to 2-D…")
def codes_projection(run: Run, dataset: ImageDataset, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(points [M, 2], dataset rows [M]) of the test codes; t-SNE keeps a fixed subset of TSNE_MAX_POINTS."""
    mu, _ = state.cached_encoding(run, "test")
    index = analysis.fixed_subset(mu.shape[0], TSNE_MAX_POINTS if method == "tsne" else mu.shape[0], seed=0)
    return analysis.project_2d(mu[torch.from_numpy(index)], method, seed=0), index


def visible_plane(points: np.ndarray, include_prior: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold the points (and ±3 when the prior is drawn), with a small margin."""
    lo, hi = points.min(0), points.max(0)
    if include_prior:
        lo, hi = np.minimum(lo, -3.2), np.maximum(hi, 3.2)
    margin = 0.05 * np.maximum(hi - lo, 1e-3)
    lo, hi = lo - margin, hi + margin
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def tile_box(xs, ys) -> tuple[tuple[float, float], tuple[float, float]]:
    """The region a manifold picture of tiles centred on xs [n] × ys [n] covers: half a step beyond them."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    dx, dy = (xs[-1] - xs[0]) / max(1, len(xs) - 1), (ys[-1] - ys[0]) / max(1, len(ys) - 1)
    return (xs[0] - dx / 2, xs[-1] + dx / 2), (ys[0] - dy / 2, ys[-1] + dy / 2)


def view_id(run: Run, dataset: ImageDataset, method: str, axes) -> str:
    """Names one view of the map in the browser, so a pin is kept only while the view is the same."""
    return f"{state.run_key(run)}|{dataset.spec}|test|{method}|{axes}"


def _placed_codes(run: Run, dataset: ImageDataset, method: str, axes):
    """(points [M, 2], dataset rows [M], axis titles) of the map: two latent dimensions, or a projection."""
    if axes is None:
        points, index = codes_projection(run, dataset, method)
        return points, index, (f"{PROJECTION_LABELS[method]} 1", f"{PROJECTION_LABELS[method]} 2")
    mu, _ = state.cached_encoding(run, "test")
    return mu[:, list(axes)].double().numpy(), np.arange(mu.shape[0]), (f"z{axes[0]} (μ)", f"z{axes[1]} (μ)")


def _overlays(run: Run, axes, ranges, n_ellipses: int, show_prior: bool, grid_n: int, label: int | None) -> dict:
    """latent_map_figure's overlays: posterior ellipses, the prior's contours, the manifold grid."""
    overlays = {}
    if n_ellipses:
        mu, logvar = state.cached_encoding(run, "test")
        rows = torch.from_numpy(analysis.fixed_subset(mu.shape[0], n_ellipses, seed=ELLIPSES_SEED))
        overlays["ellipses"] = analysis.posterior_ellipse(mu[rows][:, list(axes)], logvar[rows][:, list(axes)])
    if show_prior:
        overlays["prior"] = analysis.prior_density_grid(*ranges, n=150)
    if grid_n:
        overlays["manifold"] = analysis.manifold_grid_in_box(run.model, *ranges, n=grid_n, dims=axes, label=label)
    return overlays


@shared_result(max_entries=16, show_spinner="Drawing the map…")
def map_view(run: Run, dataset: ImageDataset, method: str, axes: tuple[int, int] | None, n_ellipses: int,
             show_prior: bool, grid_n: int, label: int | None) -> MapView:
    """The map's points, overlays, hover payload and plotly figure for one view. n_ellipses and grid_n are 0
    when their overlay is off."""
    points, index, titles = _placed_codes(run, dataset, method, axes)
    ranges = visible_plane(points, include_prior=show_prior)
    overlays = _overlays(run, axes, ranges, n_ellipses, show_prior, grid_n, label)
    labels = dataset.test_y[torch.from_numpy(index)]
    preview, hover_text = hover_preview(run, dataset, method, axes, ranges, index, label)
    manifold = overlays.get("manifold")
    payload = map_payload(
        view_id(run, dataset, method, axes), points, labels.numpy(), dataset.class_names, index, preview, titles,
        ranges, hover_text, ellipses=overlays.get("ellipses"), prior_radii=(1, 2, 3) if show_prior else (),
        manifold_png=None if manifold is None else image_to_png_bytes(image_grid(manifold[0], scale=1, pad=0)),
        manifold_box=None if manifold is None else tile_box(manifold[1], manifold[2]),
    )  # fmt: skip
    figure = latent_map_figure(
        points, labels, dataset.class_names, index=index, axis_titles=titles, axis_ranges=ranges, **overlays
    )
    return MapView(index=index, payload=payload, figure=figure, trace_members=class_trace_members(labels, index))


@shared_result(max_entries=256)
def reconstruction_and_terms(run: Run, dataset: ImageDataset, index: int) -> tuple[torch.Tensor, dict]:
    """(the reconstruction, the per-image terms) of one test image: the page opens on image 0 for everyone."""
    x, y = dataset.test_x[index : index + 1], dataset.test_y[index : index + 1]
    # A fixed seed: −ELBO uses one sample z ~ q(z|x), so the numbers would wobble from run to run.
    return analysis.reconstruct(run.model, x, y), per_image_terms(run.model, x, generator_seed=0, y=y)


@shared_result(max_entries=16)
def code_statistics(run: Run, dataset: ImageDataset) -> tuple[int, float | None, object]:
    """(active units, total KL in nats per image or None, the KL-per-dimension bar or None) of the test codes."""
    mu, logvar = state.cached_encoding(run, "test")
    n_active, variances = analysis.active_units(mu, ACTIVE_UNIT_THRESHOLD)
    if logvar is None:
        return n_active, None, None
    kl = analysis.kl_per_dim(mu, logvar)
    return n_active, float(kl.sum()), kl_per_dim_bar(kl, active=(variances > ACTIVE_UNIT_THRESHOLD).numpy())
