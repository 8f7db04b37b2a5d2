import json

import pytest

from vae_core.data import DATASET_SPECS_HELP, dataset_info, load_dataset, parse_spec


@pytest.mark.parametrize(
    "spec, canonical",
    [
        ("mnist5k", "mnist5k"),
        ("  MNIST5K ", "mnist5k"),
        ("Fashion-MNIST", "fashion-mnist"),
        ("shapes", "shapes"),
        ("shapes:32", "shapes"),
        ("shapes:64", "shapes:64"),
        ("shapes:64:10000", "shapes:64"),
        ("shapes:32:20000", "shapes:32:20000"),
        ("idx: a.gz , b.gz", "idx:a.gz,b.gz"),
        ("idx:imgs", "idx:imgs"),
        ("npz:/tmp/x.npz", "npz:/tmp/x.npz"),
        ("folder:C:\\pics", "folder:C:\\pics"),
    ],
)
def test_spec_canonical_form(spec, canonical):
    assert parse_spec(spec).canonical == canonical


def test_shapes_spec_fields():
    parsed = parse_spec("shapes:64:500")
    assert (parsed.kind, parsed.size, parsed.count) == ("shapes", 64, 500)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("imagenet", r"unknown spec 'imagenet'; expected one of: mnist5k, digits, shapes"),
        ("", "expected a spec string"),
        (None, "expected a spec string"),
        ("mnist5k:3", "takes no options"),
        ("shapes:48", "SIZE must be 32 or 64"),
        ("shapes:32:5", "COUNT must be from 10"),
        ("shapes:32:10:1", r"expected shapes\[:SIZE\[:COUNT\]\]"),
        ("shapes:big", "whole numbers"),
        ("shapes:-32", "whole numbers"),
        ("idx:", r"expected idx:IMAGES\[,LABELS\]"),
        ("idx:a,b,c", r"expected idx:IMAGES\[,LABELS\]"),
        ("idx:a,", r"expected idx:IMAGES\[,LABELS\]"),
        ("npz:", "expected npz:PATH"),
        ("folder: ", "expected folder:PATH"),
    ],
)
def test_bad_spec_is_refused_with_message(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)


def test_load_dataset_refuses_unknown_spec_listing_valid_ones():
    with pytest.raises(ValueError, match="expected one of: .*cifar10.*folder:PATH"):
        load_dataset("nope")


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, 2**63])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed: expected an integer"):
        load_dataset("shapes:32:10", seed=seed)


def test_help_names_every_spec():
    for word in ["mnist5k", "digits", "shapes[:SIZE[:COUNT]]", "mnist,", "fashion-mnist", "kmnist", "cifar10",
                 "idx:IMAGES[,LABELS]", "npz:PATH", "folder:PATH", "VAE_DATA_DIR"]:
        assert word in DATASET_SPECS_HELP


def test_dataset_info_is_json_ready():
    ds = load_dataset("shapes:64:20", seed=3)
    info = dataset_info(ds, 3)
    assert info == {"spec": "shapes:64:20", "seed": 3, "image_shape": [1, 64, 64],
                    "class_names": ["square", "ellipse", "heart"]}
    assert json.loads(json.dumps(info)) == info


def test_user_file_specs_may_be_held_to_one_folder(tmp_path):
    from vae_core.data.spec import check_files_inside

    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    check_files_inside(f"npz:{root / 'sub' / 'a.npz'}", root)
    check_files_inside(f"idx:{root / 'i.gz'},{root / 'l.gz'}", root)
    check_files_inside("shapes:32", root)  # no files at all
    (tmp_path / "elsewhere").mkdir()
    (root / "escape").symlink_to(tmp_path / "elsewhere")
    for spec in (f"npz:{tmp_path / 'a.npz'}", f"folder:{root / '..' / 'x'}", f"idx:{root / 'i.gz'},/etc/passwd",
                 f"folder:{root / 'escape'}"):
        with pytest.raises(ValueError, match="reads dataset files only inside"):
            check_files_inside(spec, root)
