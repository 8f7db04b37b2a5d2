"""Image helpers: crisp upscaling, tiling without loops, PNG bytes, a labelled grid figure."""
import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from PIL import Image

from explorer.figures import (
    image_grid,
    image_strip,
    image_to_png_bytes,
    labelled_grid_figure,
    scale_for_width,
    to_uint8,
    upscale_nearest,
)


def test_to_uint8_clips_rounds_and_moves_channels_last():
    image = torch.tensor([[[-0.5, 0.0], [0.5, 1.5]]])  # [1, 2, 2]
    out = to_uint8(image)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 1)
    assert out[..., 0].tolist() == [[0, 0], [128, 255]]


def test_upscale_nearest_repeats_each_pixel_as_a_block():
    image = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    big = upscale_nearest(image, 3)
    assert big.shape == (6, 6)  # grey images come back 2-D, as st.image expects
    assert (big[:3, :3] == 0).all() and (big[:3, 3:] == 255).all() and (big[3:, :3] == 255).all()


def test_upscale_keeps_colour_and_refuses_bad_input():
    assert upscale_nearest(np.zeros((3, 4, 5)), 2).shape == (8, 10, 3)
    with pytest.raises(ValueError, match="scale"):
        upscale_nearest(np.zeros((1, 4, 4)), 0)
    with pytest.raises(ValueError, match="C = 1 or 3"):
        upscale_nearest(np.zeros((2, 4, 4)), 2)


def test_scale_for_width_aims_at_the_target_size():
    assert scale_for_width(28) == 10 and scale_for_width(8) == 35 and scale_for_width(1000) == 1


def test_image_grid_places_tile_r_v_at_its_row_and_column():
    values = torch.arange(6, dtype=torch.float32).reshape(2, 3, 1, 1, 1) / 10  # tile (r, v) is flat (3r + v)/10
    images = values.expand(2, 3, 1, 2, 2)
    grid = image_grid(images, scale=2, pad=1)
    assert grid.shape == (2 * 5 - 1, 3 * 5 - 1)
    for r in range(2):
        for v in range(3):
            tile = grid[r * 5 : r * 5 + 4, v * 5 : v * 5 + 4]
            assert (tile == round((3 * r + v) / 10 * 255)).all()
    assert (grid[4, :] == 255).all() and (grid[:, 4] == 255).all()  # white separators


def test_image_strip_wraps_into_rows_and_pads_the_last_one_white():
    images = torch.zeros(5, 1, 2, 2)
    strip = image_strip(images, pad=0, n_cols=3)
    assert strip.shape == (4, 6)
    assert (strip[:2] == 0).all() and (strip[2:, :4] == 0).all() and (strip[2:, 4:] == 255).all()
    assert image_strip(images, pad=0).shape == (2, 10)


def test_png_bytes_decode_to_the_upscaled_image():
    image = torch.rand(1, 4, 4)
    png = image_to_png_bytes(image, scale=2)
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert decoded.shape == (8, 8) and (decoded == upscale_nearest(image, 2)).all()


def test_labelled_grid_figure_labels_rows_and_columns():
    fig = labelled_grid_figure(torch.rand(3, 5, 1, 4, 4), ["z0", "z1", "z2"], [str(v) for v in range(5)], scale=2)
    assert isinstance(fig, go.Figure) and isinstance(fig.data[0], go.Image)
    assert list(fig.layout.yaxis.ticktext) == ["z0", "z1", "z2"] and len(fig.layout.xaxis.tickvals) == 5
    source = fig.data[0].source
    assert source.startswith("data:image/png;base64,")
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))
    assert picture.shape == (3 * 9 - 1, 5 * 9 - 1)  # grey tiles of 4·2 pixels with 1-pixel gaps
    with pytest.raises(ValueError, match="labels"):
        labelled_grid_figure(torch.rand(3, 5, 1, 4, 4), ["z0"], ["a"] * 5)
