import torch

from vae_core.data import load_dataset


def test_mnist5k_is_the_default_and_splits_4500_500():
    ds = load_dataset()
    assert ds.spec == "mnist5k" and ds.has_labels
    assert ds.train_x.shape == (4500, 1, 28, 28) and ds.test_x.shape == (500, 1, 28, 28)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert ds.train_x.min() == 0 and ds.train_x.max() == 1
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.image_shape == (1, 28, 28)


def test_mnist5k_test_split_has_50_of_each_digit():
    ds = load_dataset("mnist5k", seed=4)
    assert torch.equal(torch.bincount(ds.test_y, minlength=10), torch.full((10,), 50))
    assert torch.equal(torch.bincount(ds.train_y, minlength=10), torch.full((10,), 450))


def test_mnist5k_split_is_fixed_by_the_seed():
    a, b, c = load_dataset(seed=1), load_dataset(seed=1), load_dataset(seed=2)
    assert torch.equal(a.test_x, b.test_x) and torch.equal(a.train_y, b.train_y)
    assert not torch.equal(a.test_x, c.test_x)
    all_a, all_c = a.split("all")[0].sum(), c.split("all")[0].sum()
    assert torch.isclose(all_a, all_c)  # same 5,000 images, split differently


def test_changing_a_loaded_dataset_leaves_the_next_load_alone():
    first = load_dataset("mnist5k")
    reference = first.train_x[0].clone()
    first.train_x.zero_()
    assert torch.equal(load_dataset("mnist5k").train_x[0], reference)


def test_digits_are_8x8_in_unit_range_split_90_10():
    ds = load_dataset("digits", seed=0)
    assert ds.spec == "digits"
    assert ds.train_x.shape[1:] == (1, 8, 8) and len(ds.train_x) + len(ds.test_x) == 1797
    assert 170 <= len(ds.test_x) <= 190
    assert ds.train_x.min() == 0 and ds.train_x.max() == 1
    counts = torch.bincount(ds.test_y, minlength=10)
    assert counts.min() >= 17 and counts.max() <= 19
    assert not torch.equal(ds.test_y, load_dataset("digits", seed=1).test_y)
