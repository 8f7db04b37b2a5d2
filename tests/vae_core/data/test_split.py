import torch

from vae_core.data.split import stratified_split


def _labels():
    return torch.tensor([0] * 50 + [1] * 30 + [2] * 15 + [3] * 1)


def test_split_is_a_partition_with_per_class_tenths():
    labels = _labels()
    train, test = stratified_split(labels, 0.1, seed=0)
    assert sorted(torch.cat([train, test]).tolist()) == list(range(len(labels)))
    assert torch.equal(torch.bincount(labels[test], minlength=4), torch.tensor([5, 3, 2, 0]))
    assert torch.equal(train, train.sort().values) and torch.equal(test, test.sort().values)


def test_split_is_fixed_by_the_seed():
    labels = _labels()
    a, b = stratified_split(labels, 0.1, seed=7), stratified_split(labels, 0.1, seed=7)
    assert torch.equal(a[1], b[1])
    assert not torch.equal(a[1], stratified_split(labels, 0.1, seed=8)[1])


def test_split_ignores_the_global_rng():
    labels = _labels()
    torch.manual_seed(1)
    first = stratified_split(labels, 0.1, seed=0)[1]
    torch.manual_seed(2)
    assert torch.equal(first, stratified_split(labels, 0.1, seed=0)[1])


def test_tiny_dataset_still_gets_a_test_image():
    train, test = stratified_split(torch.zeros(2, dtype=torch.int64), 0.1, seed=0)
    assert len(train) == 1 and len(test) == 1
