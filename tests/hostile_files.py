"""Hostile and broken files, built small in memory, shared by the API/CLI tests and the app tests.

Each case names what is wrong, how to build it, and a regex the refusal message must match: the
same file must be refused with the same words by the Python API, the CLI and the app.
"""
from __future__ import annotations

import gzip
import io
import json
import pathlib
import pickle
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import save_run

SAFETENSORS_ADVICE = r"never opens pickle files.*safetensors"


class TouchOnUnpickle:
    """Unpickling this creates `marker`: if the file exists after a test, hostile code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def pickle_payload(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": TouchOnUnpickle(marker)})


def torch_checkpoint_payload(marker: Path) -> bytes:
    """What torch.save writes (a zip holding a pickle); torch.load(weights_only=False) would run it."""
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(2), "hook": TouchOnUnpickle(marker)}, buffer)
    return buffer.getvalue()


def files_under(folder: Path) -> set[str]:
    """Every path below `folder`, files and folders, hidden ones included."""
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*")}


# ---------------------------------------------------------------- runs

TOY_DATASET = {"spec": "toy", "seed": 0, "image_shape": [1, 8, 8], "class_names": ["a", "b"]}


def tiny_run_files(folder: Path) -> dict[str, bytes]:
    """{file name: bytes} of a good run of an 8×8 VAE, saved in `folder`."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    metrics = {"history": [], "steps": [], "status": {"state": "finished", "message": "trained elsewhere"}}
    save_run(folder, model, train_config=None, dataset_info=TOY_DATASET, metrics=metrics, name="tiny")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> dict[str, bytes]:
    return tiny_run_files(tmp_path_factory.mktemp("good") / "tiny")


@pytest.fixture
def temp_folders_under_tmp_path(tmp_path, monkeypatch):
    """Python's temp folders go under tmp_path, so "nothing new under tmp_path" also means none was left behind."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _with_config(good: dict[str, bytes], change: Callable[[dict], None]) -> dict[str, bytes]:
    config = json.loads(good["config.json"])
    change(config)
    return {**good, "config.json": json.dumps(config).encode()}


def _garbled_header(weights: bytes) -> bytes:
    # Bytes 8.. hold the JSON header that says where each tensor is; break it.
    return weights[:8] + b"\xff" * 16 + weights[24:]


@dataclass(frozen=True)
class CheckpointFault:
    """An upload ({file name: bytes}) built from a good run's files and a marker path."""

    id: str
    build: Callable[[dict[str, bytes], Path], dict[str, bytes]]
    message: str


CHECKPOINT_FAULTS = [
    CheckpointFault("pickle-named-model.pt", lambda good, m: {"model.pt": pickle_payload(m)},
                    r"'model\.pt' is a PyTorch/pickle file.*" + SAFETENSORS_ADVICE),
    CheckpointFault("torch-save-named-model.pth", lambda good, m: {"model.pth": torch_checkpoint_payload(m)},
                    r"'model\.pth' is a PyTorch/pickle file.*" + SAFETENSORS_ADVICE),
    CheckpointFault("pickle-named-model.pkl-beside-config",
                    lambda good, m: {"config.json": good["config.json"], "model.pkl": pickle_payload(m)},
                    r"'model\.pkl' is a PyTorch/pickle file.*" + SAFETENSORS_ADVICE),
    CheckpointFault("pickle-in-a-zip", lambda good, m: {"run.zip": zip_bytes([("run/model.pkl", pickle_payload(m))])},
                    r"'run/model\.pkl' is a PyTorch/pickle file.*" + SAFETENSORS_ADVICE),
    CheckpointFault("pickle-disguised-as-model.safetensors",
                    lambda good, m: {**good, "model.safetensors": pickle_payload(m)},
                    r"model\.safetensors is a pickle / PyTorch \.pt file, not safetensors.*" + SAFETENSORS_ADVICE),
    CheckpointFault("torch-save-disguised-as-model.safetensors-in-a-zip",
                    lambda good, m: {"run.zip": zip_bytes(list({**good, "model.safetensors": torch_checkpoint_payload(m)}.items()))},
                    r"model\.safetensors is a pickle / PyTorch \.pt file.*" + SAFETENSORS_ADVICE),
    CheckpointFault("pickle-disguised-as-config.json", lambda good, m: {**good, "config.json": pickle_payload(m)},
                    r"config\.json is a pickle / PyTorch file, not JSON.*" + SAFETENSORS_ADVICE),
    CheckpointFault("truncated-model.safetensors",
                    lambda good, m: {**good, "model.safetensors": good["model.safetensors"][: len(good["model.safetensors"]) // 2]},
                    r"model\.safetensors is corrupt or truncated"),
    CheckpointFault("corrupt-model.safetensors",
                    lambda good, m: {**good, "model.safetensors": _garbled_header(good["model.safetensors"])},
                    r"model\.safetensors is corrupt or truncated"),
    CheckpointFault("empty-model.safetensors", lambda good, m: {**good, "model.safetensors": b""},
                    r"model\.safetensors is corrupt or truncated"),
    CheckpointFault("config.json-missing", lambda good, m: {"model.safetensors": good["model.safetensors"]},
                    r"config\.json missing"),
    CheckpointFault("config.json-malformed", lambda good, m: {**good, "config.json": b'{"format_version": 1,'},
                    r"config\.json is not valid JSON \(.* at line 1, column \d+\)"),
    CheckpointFault("config.json-nested-too-deep", lambda good, m: {**good, "config.json": b"[" * 200_000},
                    r"config\.json nests lists or objects too deeply"),
    CheckpointFault("config.json-not-an-object", lambda good, m: {**good, "config.json": b"[1, 2]"},
                    r"config\.json: expected a JSON object, got a list"),
    CheckpointFault("config.json-unknown-field", lambda good, m: _with_config(good, lambda c: c.update(evil=True)),
                    r"config\.json: unknown field\(s\) \['evil'\]; expected only \["),
    CheckpointFault("config.json-wrong-type",
                    lambda good, m: _with_config(good, lambda c: c["model"].update(latent_dim="two")),
                    r"config\.json: model config field 'latent_dim': expected an integer, got 'two'"),
    CheckpointFault("config.json-missing-field", lambda good, m: _with_config(good, lambda c: c.pop("weights_sha256")),
                    r"config\.json: missing field\(s\) \['weights_sha256'\]"),
    CheckpointFault("weights-shapes-do-not-match-config",
                    lambda good, m: _with_config(good, lambda c: c["model"].update(latent_dim=3)),
                    r"model\.safetensors: tensor '[\w.]+' has shape \[\d+(, \d+)*\] but config\.json's model expects"),
    # 4 layers of 8192 would take over 1.5 GB if built before the weights were compared with the config.
    CheckpointFault("config.json-asks-for-huge-layers",
                    lambda good, m: _with_config(good, lambda c: c["model"].update(hidden_sizes=[8192] * 4)),
                    r"model\.safetensors lacks tensor\(s\) .* that config\.json's model needs"),
    CheckpointFault("zip-with-an-extra-file",
                    lambda good, m: {"run.zip": zip_bytes([*good.items(), ("notes.txt", b"hi")])},
                    r"unexpected file 'notes\.txt' in the zip"),
    CheckpointFault("zip-with-nested-folders",
                    lambda good, m: {"run.zip": zip_bytes([(f"a/b/{n}", d) for n, d in good.items()])},
                    r"zip entry 'a/b/[\w.]+' is nested too deep"),
    CheckpointFault("zip-slip-dotdot", lambda good, m: {"run.zip": zip_bytes([*good.items(), ("../../evil.sh", b"rm")])},
                    r"zip entry '\.\./\.\./evil\.sh' contains '\.\.'"),
    CheckpointFault("zip-slip-absolute",
                    lambda good, m: {"run.zip": zip_bytes([(f"/tmp/{n}", d) for n, d in good.items()])},
                    r"zip entry '/tmp/[\w.]+' is an absolute path"),
    CheckpointFault("not-a-zip", lambda good, m: {"run.zip": b"PK but not really a zip"},
                    r"run\.zip is not a valid zip file"),
]

# Run names that would leave the runs folder, hide a folder or break a terminal.
HOSTILE_RUN_NAMES = {
    "slash": "a/b",
    "dotdot": "../escaped",
    "bare-dotdot": "..",
    "absolute": "/tmp/escaped",
    "backslash": "..\\escaped",
    "newline": "two\nlines",
    "tab": "tab\there",
    "escape-sequence": "red\x1b[31m",
    "hidden": ".hidden",
}

# ---------------------------------------------------------------- dataset files


def write_idx(path: Path, array, magic: int | None = None, gzipped: bool = False) -> Path:
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x0800 | array.ndim
    data = struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def _pixels(n=20, h=6, w=5):
    return np.random.default_rng(0).integers(0, 256, size=(n, h, w), dtype=np.uint8)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _npz(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return f"npz:{path}"


def object_array_npz(folder: Path, marker: Path) -> str:
    """An .npz whose x is an object array; np.load(allow_pickle=True) would create `marker`."""
    x = np.empty(10, dtype=object)
    x[:] = [TouchOnUnpickle(marker)] * 10
    return _npz(folder / "objects.npz", x=x)


def _image_folder(folder: Path, extra: dict[str, bytes]) -> str:
    root = folder / "pics"
    (root / "a").mkdir(parents=True)
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(root / "a" / f"{i}.png")
    for name, data in extra.items():
        (root / "a" / name).write_bytes(data)
    return f"folder:{root}"


def _truncated_gzip_idx(folder: Path) -> str:
    data = gzip.compress(struct.pack(">IIII", 0x0803, 20, 6, 5) + _pixels().tobytes())
    (folder / "imgs.gz").write_bytes(data[: len(data) // 2])
    return f"idx:{folder / 'imgs.gz'}"


@dataclass(frozen=True)
class DataFault:
    """A dataset spec whose file(s) `build(folder, marker)` writes into `folder`."""

    id: str
    build: Callable[[Path, Path], str]
    message: str


DATA_FAULTS = [
    DataFault("idx-wrong-magic", lambda d, m: f"idx:{write_idx(d / 'imgs', _pixels(), magic=0x0801)}",
              r"has magic number 0x00000801, expected magic number 0x00000803.*looks like a labels file"),
    DataFault("idx-not-idx-at-all", lambda d, m: f"idx:{write_idx(d / 'imgs', _pixels(), magic=0x89504E47)}",
              r"magic number 0x89504E47.*this is not an IDX file"),
    DataFault("idx-truncated",
              lambda d, m: f"idx:{_write(d / 'imgs', struct.pack('>IIII', 0x0803, 20, 6, 5) + bytes(100))}",
              r"is truncated: its header declares 20 × 6 × 5 = 600 bytes of images but only 100 follow"),
    DataFault("idx-truncated-gzip", lambda d, m: _truncated_gzip_idx(d), r"is not a readable gzip IDX file"),
    DataFault("idx-label-count-mismatch",
              lambda d, m: f"idx:{write_idx(d / 'imgs', _pixels())},{write_idx(d / 'labels', np.arange(19) % 10)}",
              r"holds 19 labels but .* holds 20 images; expected one label per image"),
    DataFault("npz-object-array-would-unpickle", lambda d, m: object_array_npz(d, m),
              r"array 'x' holds Python objects, which would need unpickling and are refused"),
    DataFault("npz-pickle-renamed", lambda d, m: f"npz:{_write(d / 'data.npz', pickle_payload(m))}",
              r"is not a \.npz archive"),
    DataFault("npz-wrong-rank", lambda d, m: _npz(d / "data.npz", x=np.zeros((10, 4))),
              r"x has shape \(10, 4\); expected x shaped \[N,H,W\] or \[N,H,W,C\]"),
    DataFault("npz-nan", lambda d, m: _npz(d / "data.npz", x=np.where(np.eye(4, dtype=bool), np.nan, 0.5)[None].repeat(10, 0)),
              r"x contains NaN or infinite values; expected floats in \[0, 1\]"),
    DataFault("npz-inf", lambda d, m: _npz(d / "data.npz", x=np.full((10, 4, 4), np.inf, dtype=np.float32)),
              r"x contains NaN or infinite values"),
    DataFault("npz-empty", lambda d, m: _npz(d / "data.npz", x=np.zeros((0, 4, 4), dtype=np.uint8)),
              r"x is empty \(shape \(0, 4, 4\)\)"),
    DataFault("folder-with-a-non-image", lambda d, m: _image_folder(d, {"notes.txt": b"hello"}),
              r"notes\.txt is not a PNG or JPEG file"),
    DataFault("folder-with-a-zero-byte-image", lambda d, m: _image_folder(d, {"empty.png": b""}),
              r"empty\.png is empty \(0 bytes\)"),
    DataFault("folder-with-text-named-png", lambda d, m: _image_folder(d, {"fake.png": b"just text\n"}),
              r"fake\.png could not be read as a PNG or JPEG image"),
]

# ---------------------------------------------------------------- uploaded images


def png_by_hand(width: int, height: int, bit_depth: int, colour_type: int, rows: list[bytes]) -> bytes:
    """A PNG written chunk by chunk, so the header may declare anything (16-bit colour, huge sizes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + row for row in rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def png_declaring(width: int, height: int) -> bytes:
    """A decompression bomb: a few dozen bytes that declare width × height grey pixels."""
    return png_by_hand(width, height, 8, 0, [bytes(64)])


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _truncated_png() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    data = encode(Image.fromarray(noise))
    return data[: len(data) - 30]


# (file name, bytes, message): each refused by load_user_image and by the Reconstruct page.
IMAGE_FAULTS = {
    "text-named-png": ("digit.png", b"this is a text file, not a picture\n", r"digit\.png: not a PNG or JPEG image\. It looks like a text file"),
    "zero-byte": ("empty.png", b"", r"empty\.png: the file is empty \(0 bytes\)"),
    "bomb-20000x20000": ("bomb.png", png_declaring(20_000, 20_000), r"bomb\.png: declares more than 16,777,216 pixels"),
    "bomb-5000x5000": ("bomb.png", png_declaring(5_000, 5_000), r"bomb\.png: declares 5000×5000 pixels; at most 4096×4096"),
    "truncated-png": ("cut.png", _truncated_png(), r"cut\.png: could not be decoded as a PNG image"),
    "gif-named-png": ("anim.png", encode(Image.new("L", (8, 8)), "GIF"), r"anim\.png: not a PNG or JPEG image"),
}


def _rgb(*boxes: tuple[tuple[int, int, int, int], tuple[int, int, int]]) -> np.ndarray:
    """8×8 RGB pixels from (box, colour) pairs; boxes are (left, top, right, bottom) as in PIL."""
    out = np.zeros((8, 8, 3), dtype=np.uint8)
    for (left, top, right, bottom), colour in boxes:
        out[top:bottom, left:right] = colour
    return out


ALL, TOP, BOTTOM, LEFT, RIGHT = (0, 0, 8, 8), (0, 0, 8, 4), (0, 4, 8, 8), (0, 0, 4, 8), (4, 0, 8, 8)


def _sixteen_bit_grey() -> bytes:
    columns = np.repeat(np.array([0, 16384, 32768, 65535], dtype=np.uint16), 2)
    return encode(Image.fromarray(np.tile(columns, (8, 1))))


def _sixteen_bit_rgb() -> bytes:
    top = struct.pack(">3H", 65535, 0, 0) * 8
    bottom = struct.pack(">3H", 0, 32768, 65535) * 8
    return png_by_hand(8, 8, 16, 2, [top] * 4 + [bottom] * 4)


def _palette() -> bytes:
    image = Image.new("P", (8, 8), 2)
    image.putpalette([0, 0, 0, 255, 255, 255, 255, 0, 0] + [0] * 759)
    image.paste(1, (0, 4, 4, 8))
    image.paste(0, (4, 4, 8, 8))
    return encode(image)


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (4, 0, 8, 8))
    return encode(image, transparency=0)


def _rgba() -> bytes:
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    image.paste((0, 0, 0, 128), (0, 0, 4, 4))
    image.paste((255, 0, 0, 255), (4, 0, 8, 8))
    return encode(image)


def _exif_rotated() -> bytes:
    stored = np.zeros((8, 8), dtype=np.uint8)
    stored[:4] = 255  # white on top as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the white half ends up on the right
    return encode(Image.fromarray(stored), exif=exif.tobytes())


@dataclass(frozen=True)
class ImageConversion:
    """An 8×8 upload and the RGB pixels a viewer shows for it, which the model must be given."""

    id: str
    name: str
    data: bytes
    shown: np.ndarray  # uint8 [8, 8, 3]
    step: str  # a conversion step the user is told about ("" when none is worth saying)
    tolerance: float = 1.5 / 255  # rounding; more for lossy JPEG


IMAGE_CONVERSIONS = [
    ImageConversion("16-bit-grey", "deep.png", _sixteen_bit_grey(),
                    _rgb(((0, 0, 2, 8), (0,) * 3), ((2, 0, 4, 8), (64,) * 3), ((4, 0, 6, 8), (128,) * 3),
                         ((6, 0, 8, 8), (255,) * 3)),
                    "16-bit grey scaled to 8 bits"),
    ImageConversion("16-bit-rgb", "deep-colour.png", _sixteen_bit_rgb(),
                    _rgb((TOP, (255, 0, 0)), (BOTTOM, (0, 128, 255))), ""),
    ImageConversion("palette", "palette.png", _palette(),
                    _rgb((TOP, (255, 0, 0)), ((0, 4, 4, 8), (255, 255, 255)), ((4, 4, 8, 8), (0, 0, 0))),
                    "palette colours expanded to RGB"),
    ImageConversion("palette-with-transparency", "sticker.png", _palette_with_transparency(),
                    _rgb((LEFT, (255, 255, 255)), (RIGHT, (0, 0, 255))), "transparent pixels filled with white"),
    ImageConversion("rgba", "overlay.png", _rgba(),
                    _rgb(((0, 0, 4, 4), (127,) * 3), ((0, 4, 4, 8), (255,) * 3), (RIGHT, (255, 0, 0))),
                    "transparent pixels filled with white"),
    ImageConversion("cmyk", "print.jpg", encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=100),
                    _rgb((ALL, (255, 0, 0))), "CMYK converted to RGB", tolerance=8 / 255),
    ImageConversion("exif-rotated", "phone.png", _exif_rotated(),
                    _rgb((LEFT, (0, 0, 0)), (RIGHT, (255, 255, 255))), "turned upright as its EXIF orientation tag asks"),
]


def expected_model_input(shown: np.ndarray, channels: int) -> torch.Tensor:
    """[C, 8, 8] in [0, 1]: the shown RGB pixels, or their grey by ITU-R 601 luma (as PIL converts)."""
    rgb = shown.astype(np.float64)
    pixels = rgb if channels == 3 else (rgb @ np.array([0.299, 0.587, 0.114]))[..., None]
    return torch.from_numpy(pixels / 255).permute(2, 0, 1).float()
