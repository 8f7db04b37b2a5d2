"""Figure builders: pure functions from data to plotly figures or uint8 image arrays, no Streamlit."""
from explorer.figures.images import (
    image_grid,
    image_strip,
    image_to_png_bytes,
    labelled_grid_figure,
    scale_for_width,
    to_uint8,
    upscale_nearest,
)
from explorer.figures.latent import (
    add_highlight,
    add_manifold_image,
    add_path,
    add_posterior_ellipses,
    add_prior_contours,
    class_trace_members,
    kl_per_dim_bar,
    latent_map_figure,
    latent_scatter,
    selected_dataset_indices,
    with_highlight_at,
)

__all__ = [
    "add_highlight",
    "add_manifold_image",
    "add_path",
    "add_posterior_ellipses",
    "add_prior_contours",
    "class_trace_members",
    "image_grid",
    "image_strip",
    "image_to_png_bytes",
    "kl_per_dim_bar",
    "labelled_grid_figure",
    "latent_map_figure",
    "latent_scatter",
    "scale_for_width",
    "selected_dataset_indices",
    "to_uint8",
    "upscale_nearest",
    "with_highlight_at",
]
