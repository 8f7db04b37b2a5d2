"""Latent-space computations for the explorer and notebooks; each concept lives in an analysis_*.py file.

All functions are batched (no Python loop over images), run under torch.inference_mode and return
CPU tensors (numpy arrays where noted) that callers may edit freely.
"""
from vae_core.analysis.conditional import class_style_grid, decode_every_class
from vae_core.analysis.decoding import (
    decode_points,
    latent_traversal,
    manifold_grid,
    manifold_grid_in_box,
    prior_samples,
    reconstruct,
    standard_normal_quantiles,
    stochastic_reconstructions,
    traversal_grid,
)
from vae_core.analysis.latent import (
    encode_dataset,
    interpolate,
    kl_per_dim,
    point_in_plane,
    posterior_ellipse,
    posterior_std,
    prior_density_grid,
)
from vae_core.analysis.neighbours import nearest_training_image
from vae_core.analysis.projection import (
    PROJECTION_METHODS,
    MapProjection,
    fixed_subset,
    map_projection,
    pca_basis,
    project_2d,
    project_with_basis,
    projection_methods,
)
from vae_core.evaluation import ACTIVE_UNIT_THRESHOLD, active_units

__all__ = [
    "MapProjection",
    "fixed_subset",
    "map_projection",
    "point_in_plane",
    "posterior_std",
    "ACTIVE_UNIT_THRESHOLD",
    "PROJECTION_METHODS",
    "active_units",
    "class_style_grid",
    "decode_points",
    "decode_every_class",
    "encode_dataset",
    "interpolate",
    "kl_per_dim",
    "latent_traversal",
    "manifold_grid",
    "manifold_grid_in_box",
    "nearest_training_image",
    "posterior_ellipse",
    "prior_density_grid",
    "prior_samples",
    "pca_basis",
    "project_2d",
    "project_with_basis",
    "projection_methods",
    "reconstruct",
    "standard_normal_quantiles",
    "stochastic_reconstructions",
    "traversal_grid",
]
