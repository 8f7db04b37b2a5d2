import math

import torch

from vae_core.data import load_dataset
from vae_core.data.shapes import HALF_SIDE, MARGIN, render_shapes, sample_factors


def test_default_shapes_are_binary_32px_with_factors():
    ds = load_dataset("shapes", seed=0)
    assert ds.spec == "shapes"
    assert ds.train_x.shape == (9000, 1, 32, 32) and ds.test_x.shape == (1000, 1, 32, 32)
    assert ds.train_x.dtype == torch.float32
    assert set(ds.train_x.unique().tolist()) == {0.0, 1.0}
    assert ds.class_names == ["square", "ellipse", "heart"]
    assert ds.factor_names == ["shape", "scale", "rotation", "x", "y"]
    assert ds.train_factors.shape == (9000, 5) and ds.train_factors.dtype == torch.float32
    assert torch.equal(ds.train_y, ds.train_factors[:, 0].long())
    assert (ds.train_x.sum((1, 2, 3)) > 0).all()


def test_factor_ranges():
    f = load_dataset("shapes:32:2000").train_factors
    shape, scale, rotation, x, y = f.unbind(1)
    assert set(shape.unique().tolist()) == {0.0, 1.0, 2.0}
    assert scale.min() >= 0.5 and scale.max() <= 1
    assert rotation.min() >= 0 and rotation.max() < 2 * math.pi
    assert x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 1


def test_size_and_count_from_spec():
    ds = load_dataset("shapes:64:200")
    assert ds.spec == "shapes:64:200"
    assert ds.image_shape == (1, 64, 64) and len(ds.train_x) == 180 and len(ds.test_x) == 20


def test_shapes_are_fixed_by_the_seed():
    a, b, c = (load_dataset("shapes:32:300", seed=s) for s in (5, 5, 6))
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_factors, b.test_factors)
    assert not torch.equal(a.train_x, c.train_x)


def test_images_follow_their_position_factors():
    factors = sample_factors(500, torch.Generator().manual_seed(0))
    images = render_shapes(factors, 64)[:, 0]
    mass = images.sum((1, 2))
    cols = (images.sum(1) * (torch.arange(64) + 0.5)).sum(1) / mass / 64
    rows = (images.sum(2) * (torch.arange(64) + 0.5)).sum(1) / mass / 64
    squares = factors[:, 0] == 0  # point-symmetric, so the centroid is the centre
    expected_x = MARGIN + (1 - 2 * MARGIN) * factors[squares, 3]
    expected_y = MARGIN + (1 - 2 * MARGIN) * factors[squares, 4]
    assert (cols[squares] - expected_x).abs().max() < 1 / 64
    assert (rows[squares] - expected_y).abs().max() < 1 / 64
    # A square's area is its side squared, whatever the rotation.
    side = 2 * factors[squares, 1] * HALF_SIDE * 64
    assert ((mass[squares] - side**2).abs() / side**2).mean() < 0.05


def test_rotation_turns_the_shape():
    factors = torch.tensor([[0, 1.0, 0.0, 0.5, 0.5], [0, 1.0, math.pi / 4, 0.5, 0.5],
                            [2, 1.0, 0.0, 0.5, 0.5], [2, 1.0, math.pi, 0.5, 0.5]])
    images = render_shapes(factors, 32)
    assert not torch.equal(images[0], images[1])
    # A heart turned half a turn points the other way: its image flips upside down.
    assert (images[2].flip(-2, -1) != images[3]).float().mean() < 0.01
    assert not torch.equal(images[2], images[3])
