"""The nearest training image in pixel space."""
import pytest
import torch

from tests.vae_core.tiny_models import images
from vae_core import analysis


def test_nearest_training_image_finds_an_exact_copy():
    train_x = images(500)
    queries = torch.cat([train_x[[17, 423]], images(3, seed=9)])
    indices, distances = analysis.nearest_training_image(queries, train_x, chunk_size=64)
    assert indices.shape == distances.shape == (5,)
    assert indices[:2].tolist() == [17, 423]
    assert distances[:2].abs().max() < 1e-6
    brute = (queries.flatten(1)[:, None] - train_x.flatten(1)[None]).norm(dim=-1)  # [5, 500], exact
    assert indices.tolist() == brute.argmin(1).tolist()
    torch.testing.assert_close(distances, brute.min(1).values, rtol=1e-4, atol=1e-4)
    single_index, _ = analysis.nearest_training_image(train_x[99], train_x)
    assert single_index.tolist() == [99]
    with pytest.raises(ValueError, match="do not match"):
        analysis.nearest_training_image(torch.rand(2, 1, 4, 4), train_x)
