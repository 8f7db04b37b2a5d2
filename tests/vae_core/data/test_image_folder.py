import numpy as np
import pytest
import torch
from PIL import Image

from vae_core.data import load_dataset


def _grey(value, size=(8, 10)):
    return Image.new("L", size, value)


def _make(tmp_path, classes, fmt="PNG", suffix=".png", size=(8, 10)):
    root = tmp_path / "pics"
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            _grey(10 * i, size).save(root / name / f"{i:03d}{suffix}", format=fmt)
    return root


def test_grey_folder_round_trip(tmp_path):
    root = _make(tmp_path, {"dog": 10, "cat": 10})
    (root / "cat" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden files are ignored
    ds = load_dataset(f"folder:{root}", seed=0)
    assert ds.spec == f"folder:{root}"
    assert ds.class_names == ["cat", "dog"]  # sorted subfolder names
    assert ds.image_shape == (1, 10, 8)  # PIL sizes are (width, height)
    assert len(ds.train_x) == 18 and torch.bincount(ds.test_y).tolist() == [1, 1]
    assert ds.train_x.dtype == torch.float32 and ds.train_x.max() <= 0.36
    values = sorted(round(v * 255) for v in ds.split("all")[0][:, 0, 0, 0].tolist())
    assert values == sorted([10 * i for i in range(10)] * 2)


def test_one_colour_image_makes_the_folder_rgb(tmp_path):
    root = _make(tmp_path, {"a": 3, "b": 3}, fmt="JPEG", suffix=".jpg")
    Image.new("RGB", (8, 10), (255, 0, 0)).save(root / "b" / "red.png")
    ds = load_dataset(f"folder:{root}")
    assert ds.image_shape == (3, 10, 8)
    all_x, all_y = ds.split("all")
    red = all_x[(all_x[:, 0] > 0.9).all((1, 2)) & (all_x[:, 1] < 0.1).all((1, 2))]
    assert len(red) == 1


def test_split_is_fixed_by_the_seed(tmp_path):
    root = _make(tmp_path, {"a": 20})
    a, b, c = (load_dataset(f"folder:{root}", seed=s) for s in (0, 0, 1))
    assert torch.equal(a.test_x, b.test_x) and not torch.equal(a.test_x, c.test_x)


def test_non_image_file_is_refused_by_name(tmp_path):
    root = _make(tmp_path, {"a": 3})
    (root / "a" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes.txt is not a PNG or JPEG file"):
        load_dataset(f"folder:{root}")


def test_zero_byte_image_is_refused_by_name(tmp_path):
    root = _make(tmp_path, {"a": 3})
    (root / "a" / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.png is empty \(0 bytes\)"):
        load_dataset(f"folder:{root}")


@pytest.mark.parametrize("content", [b"not an image at all", b"GIF89a" + bytes(40)])
def test_corrupt_or_disguised_image_is_refused_by_name(tmp_path, content):
    root = _make(tmp_path, {"a": 3})
    (root / "a" / "bad.png").write_bytes(content)
    with pytest.raises(ValueError, match="bad.png could not be read as a PNG or JPEG"):
        load_dataset(f"folder:{root}")


def test_truncated_png_is_refused_by_name(tmp_path):
    root = _make(tmp_path, {"a": 3})
    noise = np.random.default_rng(0).integers(0, 256, (10, 8), dtype=np.uint8)
    Image.fromarray(noise).save(root / "a" / "cut.png")
    data = (root / "a" / "cut.png").read_bytes()
    (root / "a" / "cut.png").write_bytes(data[: len(data) - 30])
    with pytest.raises(ValueError, match="cut.png could not be"):
        load_dataset(f"folder:{root}")


def test_odd_size_is_refused_naming_both_files(tmp_path):
    root = _make(tmp_path, {"a": 3})
    _grey(0, (9, 10)).save(root / "a" / "wide.png")
    with pytest.raises(ValueError, match=r"wide.png is 9×10 pixels but .*000.png is 8×10; all images must share one size"):
        load_dataset(f"folder:{root}")


def test_huge_declared_size_is_refused_before_decoding(tmp_path, monkeypatch):
    import vae_core.data.image_folder as image_folder

    monkeypatch.setattr(image_folder, "MAX_IMAGE_PIXELS", 79)
    root = _make(tmp_path, {"a": 3})
    with pytest.raises(ValueError, match=r"000.png declares 8×10 pixels; at most 79 pixels"):
        load_dataset(f"folder:{root}")


def test_sixteen_bit_image_is_refused(tmp_path):
    root = _make(tmp_path, {"a": 3})
    Image.fromarray(np.zeros((10, 8), dtype=np.uint16)).save(root / "a" / "deep.png")
    with pytest.raises(ValueError, match="deep.png has pixel mode I;16"):
        load_dataset(f"folder:{root}")


def test_bad_layouts_are_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    flat = tmp_path / "flat"
    flat.mkdir()
    _grey(0).save(flat / "a.png")
    with pytest.raises(ValueError, match="has no subfolders; expected one subfolder per class"):
        load_dataset(f"folder:{flat}")
    root = _make(tmp_path, {"a": 3})
    (root / "b").mkdir()
    with pytest.raises(ValueError, match="class folder .*b is empty"):
        load_dataset(f"folder:{root}")
    (root / "b" / "deeper").mkdir()
    with pytest.raises(ValueError, match="deeper is a folder inside a class folder"):
        load_dataset(f"folder:{root}")
