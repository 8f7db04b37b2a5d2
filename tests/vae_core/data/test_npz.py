import numpy as np
import pytest
import torch

from vae_core.data import load_dataset


def _save(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_uint8_grey_with_labels(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(30, 7, 9), dtype=np.uint8)
    y = np.arange(30) % 3
    ds = load_dataset(_save(tmp_path, x=x, y=y), seed=0)
    assert ds.image_shape == (1, 7, 9) and len(ds.train_x) + len(ds.test_x) == 30
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert ds.class_names == ["0", "1", "2"] and ds.has_labels
    assert torch.bincount(ds.test_y).tolist() == [1, 1, 1]
    all_x = ds.split("all")[0]
    assert torch.isclose(all_x.sum(), torch.tensor(x.sum() / 255, dtype=torch.float32))


def test_float_colour_channels_move_first(tmp_path):
    x = np.zeros((10, 4, 5, 3), dtype=np.float32)
    x[..., 0] = 1.0  # red only
    ds = load_dataset(_save(tmp_path, x=x))
    assert ds.image_shape == (3, 4, 5)
    assert (ds.train_x[:, 0] == 1).all() and (ds.train_x[:, 1:] == 0).all()
    assert not ds.has_labels and ds.class_names == ["unlabelled"] and (ds.train_y == 0).all()


def test_bool_and_single_channel(tmp_path):
    ds = load_dataset(_save(tmp_path, x=np.ones((10, 3, 3, 1), dtype=bool)))
    assert ds.image_shape == (1, 3, 3) and (ds.train_x == 1).all()


def test_split_is_fixed_by_the_seed(tmp_path):
    spec = _save(tmp_path, x=np.random.default_rng(0).random((40, 3, 3)))
    a, b, c = (load_dataset(spec, seed=s) for s in (2, 2, 3))
    assert torch.equal(a.test_x, b.test_x) and not torch.equal(a.test_x, c.test_x)


def test_object_array_is_refused_without_unpickling(tmp_path):
    x = np.empty(10, dtype=object)
    x[:] = [np.zeros((2, 2))] * 10
    with pytest.raises(ValueError, match="array 'x' holds Python objects.*refused"):
        load_dataset(_save(tmp_path, x=x))


def test_object_labels_are_refused(tmp_path):
    y = np.array(["cat"] * 10, dtype=object)
    with pytest.raises(ValueError, match="array 'y' holds Python objects"):
        load_dataset(_save(tmp_path, x=np.zeros((10, 2, 2)), y=y))


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.array([[0.5, np.nan]] * 10)[:, None]}, "NaN or infinite"),
        ({"x": np.full((10, 2, 2), np.inf)}, "NaN or infinite"),
        ({"x": np.full((10, 2, 2), 255.0)}, r"floats from 255 to 255; expected floats in \[0, 1\]"),
        ({"x": np.full((10, 2, 2), -0.5)}, r"expected floats in \[0, 1\]"),
        ({"x": np.full((10, 2, 2), 300)}, "integer pixels must lie in 0..255"),
        ({"x": np.zeros((10, 4))}, r"x has shape \(10, 4\); expected x shaped \[N,H,W\]"),
        ({"x": np.zeros((10, 4, 4, 2))}, r"x has shape \(10, 4, 4, 2\); expected .*C 1 or 3"),
        ({"x": np.zeros((0, 4, 4))}, "x is empty"),
        ({"x": np.zeros((1, 4, 4))}, "need at least 2"),
        ({"x": np.zeros((10, 4, 4), dtype=np.complex64)}, "x has dtype complex64"),
        ({"images": np.zeros((10, 4, 4))}, r"has no array 'x' \(found: images\)"),
        ({"x": np.zeros((10, 4, 4)), "y": np.arange(9)}, r"y has shape \(9,\); expected one label per image"),
        ({"x": np.zeros((10, 4, 4)), "y": np.zeros((10, 1), dtype=int)}, "one label per image"),
        ({"x": np.zeros((10, 4, 4)), "y": np.zeros(10)}, "y has dtype float64; expected integer class labels"),
        ({"x": np.zeros((10, 4, 4)), "y": np.arange(10) - 1}, r"labels must be ≥ 0, found -1 at index 0"),
        ({"x": np.zeros((300, 2, 2)), "y": np.arange(300)}, "300 different values"),
    ],
)
def test_bad_arrays_are_refused(tmp_path, arrays, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(_save(tmp_path, **arrays))


def test_oversized_array_is_refused_from_its_header(tmp_path, monkeypatch):
    import vae_core.data.npz as npz

    monkeypatch.setattr(npz, "MAX_TOTAL_VALUES", 1000)
    monkeypatch.setattr(np, "load", None)  # refused before numpy would decompress anything
    path = tmp_path / "big.npz"
    # Compressed zeros: tiny on disk, far bigger once loaded.
    np.savez_compressed(path, x=np.zeros((100, 4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"array 'x' has shape \(100, 4, 4\); at most 1,000 values fit in memory"):
        load_dataset(f"npz:{path}")


def test_non_npz_files_are_refused(tmp_path):
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((10, 2, 2)))
    with pytest.raises(ValueError, match="is not a .npz archive"):
        load_dataset(f"npz:{npy}")
    with pytest.raises(ValueError, match="file not found"):
        load_dataset(f"npz:{tmp_path / 'missing.npz'}")
