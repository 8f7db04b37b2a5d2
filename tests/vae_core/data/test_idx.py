import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core.data import load_dataset

SHARED_MNIST = Path(__file__).resolve().parents[4] / "shared" / "data" / "mnist"


def write_idx(path, array, magic=None, gzipped=False, extra=b""):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x0800 | array.ndim
    data = struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes() + extra
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def _images(n=20, h=6, w=5):
    return np.random.default_rng(0).integers(0, 256, size=(n, h, w), dtype=np.uint8)


@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_round_trip(tmp_path, gzipped):
    pixels, digits = _images(), np.arange(20) % 4
    # Names say the opposite of the content: gzip is detected from the bytes.
    imgs = write_idx(tmp_path / ("imgs.raw" if gzipped else "imgs.gz"), pixels, gzipped=gzipped)
    labs = write_idx(tmp_path / "labs", digits, gzipped=gzipped)
    ds = load_dataset(f"idx:{imgs},{labs}", seed=0)
    assert ds.spec == f"idx:{imgs},{labs}"
    assert ds.image_shape == (1, 6, 5) and len(ds.train_x) + len(ds.test_x) == 20
    assert ds.class_names == ["0", "1", "2", "3"] and ds.has_labels
    all_x, all_y = ds.split("all")
    # Each loaded image is one of the written ones, with its own label.
    flat = torch.from_numpy(pixels.reshape(20, -1).astype(np.float32) / 255)
    match = (all_x.reshape(len(all_x), -1)[:, None] == flat[None]).all(-1).float().argmax(1)
    assert sorted(match.tolist()) == list(range(20))
    assert torch.equal(all_y, torch.from_numpy(digits)[match])


def test_idx_without_labels_is_unlabelled(tmp_path):
    imgs = write_idx(tmp_path / "imgs", _images())
    ds = load_dataset(f"idx:{imgs}")
    assert not ds.has_labels and ds.class_names == ["unlabelled"]
    assert (ds.train_y == 0).all() and ds.train_y.dtype == torch.int64


def test_idx_split_is_fixed_by_the_seed(tmp_path):
    imgs = write_idx(tmp_path / "imgs", _images(n=50))
    a, b, c = (load_dataset(f"idx:{imgs}", seed=s) for s in (0, 0, 1))
    assert torch.equal(a.test_x, b.test_x) and not torch.equal(a.test_x, c.test_x)


def test_sparse_label_ids_become_class_names(tmp_path):
    imgs = write_idx(tmp_path / "imgs", _images())
    labs = write_idx(tmp_path / "labs", np.where(np.arange(20) % 2, 7, 3))
    ds = load_dataset(f"idx:{imgs},{labs}")
    assert ds.class_names == ["3", "7"] and set(ds.split("all")[1].tolist()) == {0, 1}


def test_real_mnist_test_set():
    images, labels = SHARED_MNIST / "t10k-images-idx3-ubyte.gz", SHARED_MNIST / "t10k-labels-idx1-ubyte.gz"
    if not images.exists() or not labels.exists():
        pytest.skip("the shared MNIST test set is not here")
    ds = load_dataset(f"idx:{images},{labels}", seed=0)
    assert ds.train_x.shape == (9000, 1, 28, 28) and ds.test_x.shape == (1000, 1, 28, 28)
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.train_x.min() == 0 and ds.train_x.max() == 1
    assert abs(ds.split("all")[0].mean().item() - 0.1325) < 0.001  # MNIST's well-known mean pixel


def _bad(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: write_idx(d / "i", _images(), magic=0x0801), "looks like a labels file"),
        (lambda d: _bad(d, "i", b"PK\x03\x04 not idx at all"), "not an IDX file"),
        (lambda d: _bad(d, "i", struct.pack(">IIII", 0x0D03, 2, 2, 2) + bytes(32)), "data type 0x0D is not supported"),
        (lambda d: write_idx(d / "i", _images().reshape(20, 6, 5, 1)), "expected magic number 0x00000803.*4 dimension"),
        (lambda d: _bad(d, "i", b"\x00\x00"), "too short for an IDX header"),
        (lambda d: _bad(d, "i", struct.pack(">II", 0x0803, 20)), "truncated inside its header"),
        (lambda d: _bad(d, "i", struct.pack(">IIII", 0x0803, 20, 6, 5) + bytes(100)),
         r"truncated: its header declares 20 × 6 × 5 = 600 bytes of images but only 100 follow"),
        (lambda d: write_idx(d / "i", _images(), extra=b"\x00"), "data past"),
        (lambda d: _bad(d, "i", b"\x1f\x8b\x08garbage"), "not a readable gzip IDX file"),
        (lambda d: _bad(d, "i", struct.pack(">IIII", 0x0803, 100_000, 4096, 4096)), "fit in memory"),
        (lambda d: write_idx(d / "i", _images(n=1)), "need at least 2"),
        (lambda d: d / "missing", "images file not found"),
    ],
)
def test_bad_idx_images_are_refused(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(f"idx:{make(tmp_path)}")


def test_truncated_gzip_is_refused(tmp_path):
    data = gzip.compress(struct.pack(">IIII", 0x0803, 20, 6, 5) + _images().tobytes())
    path = _bad(tmp_path, "i.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable gzip IDX file"):
        load_dataset(f"idx:{path}")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: write_idx(d / "l", np.arange(19) % 10), "holds 19 labels but .* holds 20 images"),
        (lambda d: write_idx(d / "l", _images()), "looks like an images file"),
        (lambda d: d / "nolabels", "labels file not found"),
    ],
)
def test_bad_idx_labels_are_refused(tmp_path, make, message):
    imgs = write_idx(tmp_path / "imgs", _images())
    with pytest.raises(ValueError, match=message):
        load_dataset(f"idx:{imgs},{make(tmp_path)}")
