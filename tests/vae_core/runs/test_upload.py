"""Uploaded runs: good ones are added under a fresh name; bad ones are refused, leaving runs/ untouched."""
import io
import pathlib
import pickle
import stat
import zipfile

import pytest
import torch

from vae_core.models import ModelConfig, build_model
from vae_core.runs import upload
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.upload import import_uploaded_run, read_upload, validate_uploaded_run

DATASET = {"spec": "toy", "seed": 0, "image_shape": [1, 8, 8], "class_names": ["a", "b"]}


@pytest.fixture
def run_files(tmp_path):
    """{file name: bytes} of a good saved run whose config.json names it 'my run'."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(16,), image_shape=(1, 8, 8)))
    metrics = {"history": [], "steps": [], "status": {"state": "finished", "message": "trained elsewhere"}}
    save_run(tmp_path / "src" / "shared", model, train_config=None, dataset_info=DATASET, metrics=metrics, name="my run")
    return {p.name: p.read_bytes() for p in (tmp_path / "src" / "shared").iterdir()}


@pytest.fixture
def runs_root(tmp_path):
    return tmp_path / "runs"


def make_zip(entries):
    """entries: list of (name, bytes) or (ZipInfo, bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def refused(files, runs_root, pattern, **kwargs):
    with pytest.raises(ValueError, match=pattern):
        import_uploaded_run(files, runs_root, **kwargs)
    assert not runs_root.exists() or list(runs_root.iterdir()) == []


# ---------------------------------------------------------------- accepted


def test_good_zip_is_imported(run_files, runs_root):
    data = make_zip(list(run_files.items()))
    run_dir = import_uploaded_run({"upload.zip": data}, runs_root)
    assert run_dir == runs_root / "my-run"
    run = load_run(run_dir)
    assert run.name == "my-run" and run.metrics["status"]["message"] == "trained elsewhere"
    assert sorted(p.name for p in runs_root.iterdir()) == ["my-run"]  # no temp folders left


def test_zip_with_one_top_folder_and_mac_metadata(run_files, runs_root):
    entries = [(f"exported/{n}", d) for n, d in run_files.items()]
    entries += [("__MACOSX/exported/._config.json", b"\x00\x05"), ("exported/.DS_Store", b"\x00")]
    run_dir = import_uploaded_run({"exported.zip": make_zip(entries)}, runs_root, name="Mine")
    assert run_dir.name == "Mine" and load_run(run_dir).name == "Mine"


def test_loose_files_without_metrics_get_empty_history(run_files, runs_root):
    files = {"config.json": run_files["config.json"], "model.safetensors": run_files["model.safetensors"]}
    first = import_uploaded_run(files, runs_root)
    second = import_uploaded_run(files, runs_root)
    assert (first.name, second.name) == ("my-run", "my-run-2")
    assert load_run(second).metrics["history"] == []


def test_validate_returns_installable_files(run_files):
    files = validate_uploaded_run({"config.json": run_files["config.json"], "model.safetensors": run_files["model.safetensors"]})
    assert set(files) == {"config.json", "model.safetensors", "metrics.json"}


# ---------------------------------------------------------------- refused


def test_zip_slip_refused(run_files, runs_root, tmp_path):
    entries = list(run_files.items()) + [("../evil", b"x")]
    refused({"run.zip": make_zip(entries)}, runs_root, r"'\.\./evil' contains '\.\.'")
    assert not (tmp_path / "evil").exists()


def test_absolute_path_refused(run_files, runs_root):
    entries = [("/etc/config.json", run_files["config.json"]), ("model.safetensors", run_files["model.safetensors"])]
    refused({"run.zip": make_zip(entries)}, runs_root, r"'/etc/config\.json' is an absolute path")


def test_extra_file_refused(run_files, runs_root):
    entries = list(run_files.items()) + [("notes.txt", b"hi")]
    refused({"run.zip": make_zip(entries)}, runs_root, r"unexpected file 'notes\.txt'")
    refused({**run_files, "notes.txt": b"hi"}, runs_root, r"unexpected file 'notes\.txt'")


def test_nested_path_refused(run_files, runs_root):
    entries = [(f"a/b/{n}", d) for n, d in run_files.items()]
    refused({"run.zip": make_zip(entries)}, runs_root, r"'a/b/[\w.]+' is nested too deep")


def test_two_folders_or_mixed_levels_refused(run_files, runs_root):
    entries = [("a/config.json", run_files["config.json"]), ("b/model.safetensors", run_files["model.safetensors"])]
    refused({"run.zip": make_zip(entries)}, runs_root, r"several folders \['a', 'b'\]")
    entries = [("config.json", run_files["config.json"]), ("a/model.safetensors", run_files["model.safetensors"])]
    refused({"run.zip": make_zip(entries)}, runs_root, "mixes files at the top with files in a folder")


def test_duplicate_entries_refused(run_files, runs_root):
    entries = list(run_files.items()) + [("config.json", run_files["config.json"])]
    with pytest.warns(UserWarning):  # zipfile itself warns about the duplicate name
        data = make_zip(entries)
    refused({"run.zip": data}, runs_root, r"'config\.json' appears twice")


def test_symlink_entry_refused(run_files, runs_root):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in run_files.items():
            if name != "metrics.json":
                zf.writestr(name, data)
        link = zipfile.ZipInfo("metrics.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    refused({"run.zip": buf.getvalue()}, runs_root, r"'metrics\.json' is a symbolic link")


def test_missing_weights_refused(run_files, runs_root):
    refused({"config.json": run_files["config.json"]}, runs_root, r"model\.safetensors missing")


def test_oversized_zip_refused(run_files, runs_root, monkeypatch):
    data = make_zip(list(run_files.items()))
    monkeypatch.setattr(upload, "MAX_ZIP_BYTES", len(data) - 1)
    refused({"run.zip": data}, runs_root, r"run\.zip is .* MB, over the .* MB limit")


def test_zip_bomb_refused_from_its_header(run_files, runs_root, monkeypatch):
    entries = list(run_files.items())
    entries[0] = (entries[0][0], entries[0][1] + b" " * 5_000_000)  # compresses to almost nothing
    data = make_zip(entries)
    assert len(data) < 100_000
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 1_000_000)
    refused({"run.zip": data}, runs_root, r"unpacks to .* MB, over the .* MB limit")


@pytest.mark.parametrize("shift", [-10, +10])
def test_zip_whose_header_lies_about_sizes_refused(run_files, runs_root, shift):
    data = bytearray(make_zip(list(run_files.items())))
    # Central directory entries: the uncompressed size sits 24 bytes after each b"PK\x01\x02".
    at = data.index(b"PK\x01\x02") + 24
    size = int.from_bytes(data[at : at + 4], "little")
    data[at : at + 4] = (size + shift).to_bytes(4, "little")
    refused({"run.zip": bytes(data)}, runs_root, r"zip entry '[\w.]+' (cannot be read|is not the size its header says)")


def test_invalid_run_inside_good_zip_refused(run_files, runs_root):
    files = {**run_files, "model.safetensors": run_files["model.safetensors"][:-50]}
    refused({"run.zip": make_zip(list(files.items()))}, runs_root, r"upload rejected: model\.safetensors is corrupt or truncated")


def test_not_a_zip_refused(runs_root):
    refused({"run.zip": b"hello"}, runs_root, r"run\.zip is not a valid zip file")


def test_bad_name_refused_before_anything(run_files, runs_root):
    refused(run_files, runs_root, r"may not contain '\.\.'", name="../up")


# ---------------------------------------------------------------- pickles are refused, never executed


class _TouchOnUnpickle:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def test_pickle_payload_is_refused_and_never_executed(run_files, runs_root, tmp_path):
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(probe)))
    assert probe.exists(), "the payload must be able to run, or this test proves nothing"

    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_TouchOnUnpickle(marker))
    torch_zip = io.BytesIO()
    torch.save({"weight": torch.ones(2)}, torch_zip)
    hint = r"never opens pickle files.*model\.safetensors.*config\.json"
    refused({"model.pt": payload}, runs_root, r"'model\.pt' is a PyTorch/pickle file.*" + hint)
    refused({"checkpoint.ckpt": payload, "config.json": run_files["config.json"]}, runs_root, hint)
    refused({"run.zip": make_zip([("run/model.pth", payload)])}, runs_root, r"'run/model\.pth' is a PyTorch/pickle file")
    refused({**run_files, "model.safetensors": payload}, runs_root, r"model\.safetensors is a pickle / PyTorch \.pt file.*" + hint)
    refused({**run_files, "model.safetensors": torch_zip.getvalue()}, runs_root, r"model\.safetensors is a pickle")
    refused({**run_files, "config.json": payload}, runs_root, r"config\.json is a pickle")
    assert not marker.exists()


def test_read_upload_checks_names_only(run_files):
    assert set(read_upload({"run.zip": make_zip(list(run_files.items()))})) == set(run_files)
    with pytest.raises(ValueError, match="either one .zip or the loose run files"):
        read_upload({"run.zip": b"", "config.json": b"{}"})
