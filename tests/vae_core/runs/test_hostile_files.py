"""Hostile and broken files through the Python API and the CLI.

Each file is refused with one line that names the file or field and what was expected; no traceback,
no payload runs, and nothing new appears on disk. The files are built in tests/hostile_files.py; the
app's side of the same files is tests/explorer/page_scripts/test_hostile_uploads.py.
"""
import errno
import io
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.hostile_files import (
    CHECKPOINT_FAULTS,
    DATA_FAULTS,
    HOSTILE_RUN_NAMES,
    files_under,
    object_array_npz,
    pickle_payload,
    torch_checkpoint_payload,
    zip_bytes,
)
from vae_core.cli import main
from vae_core.data import load_dataset
from vae_core.data.limits import MAX_UPLOAD_FILE_MB
from vae_core.runs import upload
from vae_core.runs.checkpoint import load_run
from vae_core.runs.format import MB, RUN_FILES
from vae_core.runs.names import run_dir_for, sanitize_run_name
from vae_core.runs.upload import import_uploaded_run
from vae_core.serving import image_input

REPO = Path(__file__).resolve().parents[3]
FAULTS_BY_ID = {fault.id: fault for fault in CHECKPOINT_FAULTS}

# The good_run fixture and this one come from tests/hostile_files.py (a plugin of tests/conftest.py).
pytestmark = pytest.mark.usefixtures("temp_folders_under_tmp_path")


def cli_error(argv: list[str], capsys) -> str:
    """Run the CLI in-process; check it failed argparse-style (exit 2, no traceback); its error line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # argparse prints the usage, then the message on one line: a message with a newline would split it.
    last = err.strip().splitlines()[-1]
    assert re.match(r"python -m vae_core( \w+)?: error: ", last), err
    return last


def write_as_on_disk(files: dict[str, bytes], folder: Path) -> Path:
    """An upload as a user would have it: one .zip or pickle file as itself, loose run files in a folder."""
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    names = list(files)
    return folder / names[0] if len(names) == 1 and names[0] not in RUN_FILES else folder


def test_the_payloads_would_run_if_unpickled(tmp_path):
    """Without this, a test finding no marker file would prove nothing."""
    pickle.loads(pickle_payload(tmp_path / "by-pickle"))
    torch.load(io.BytesIO(torch_checkpoint_payload(tmp_path / "by-torch-load")), weights_only=False)
    spec = object_array_npz(tmp_path, tmp_path / "by-np-load")
    np.load(spec.removeprefix("npz:"), allow_pickle=True)["x"]
    assert {p.name for p in tmp_path.iterdir()} >= {"by-pickle", "by-torch-load", "by-np-load"}


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("fault", CHECKPOINT_FAULTS, ids=lambda f: f.id)
def test_checkpoint_fault_is_refused_by_the_api(fault, good_run, tmp_path):
    marker = tmp_path / "payload-ran"
    files = fault.build(good_run, marker)
    before = files_under(tmp_path)
    with pytest.raises(ValueError, match=fault.message) as refused:
        import_uploaded_run(files, tmp_path / "runs")
    assert "\n" not in str(refused.value)
    assert files_under(tmp_path) == before
    assert not marker.exists()


@pytest.mark.parametrize("fault", CHECKPOINT_FAULTS, ids=lambda f: f.id)
def test_checkpoint_fault_is_refused_by_cli_import(fault, good_run, tmp_path, capsys):
    marker = tmp_path / "payload-ran"
    source = write_as_on_disk(fault.build(good_run, marker), tmp_path / "source")
    before = files_under(tmp_path)
    line = cli_error(["import", str(source), "--runs-dir", str(tmp_path / "runs")], capsys)
    assert re.search(fault.message, line), line
    assert files_under(tmp_path) == before
    assert not marker.exists()


BROKEN_RUN_FOLDERS = [
    "pickle-disguised-as-model.safetensors", "pickle-disguised-as-config.json", "truncated-model.safetensors",
    "corrupt-model.safetensors", "config.json-missing", "config.json-malformed", "config.json-nested-too-deep",
    "config.json-unknown-field", "config.json-wrong-type", "weights-shapes-do-not-match-config",
    "config.json-asks-for-huge-layers",
]  # fmt: skip


@pytest.mark.parametrize("fault_id", BROKEN_RUN_FOLDERS)
def test_evaluate_on_a_broken_run_folder_says_what_is_wrong(fault_id, good_run, tmp_path, capsys):
    fault = FAULTS_BY_ID[fault_id]
    marker = tmp_path / "payload-ran"
    files = {"metrics.json": good_run["metrics.json"], **fault.build(good_run, marker)}
    run_dir = write_as_on_disk(files, tmp_path / "broken")
    with pytest.raises(ValueError, match=fault.message):
        load_run(run_dir)
    line = cli_error(["evaluate", str(run_dir)], capsys)
    assert "run 'broken': " in line and re.search(fault.message, line), line
    assert not marker.exists()


def test_a_good_run_imports_through_the_cli_from_a_zip_or_a_folder(good_run, tmp_path, capsys):
    (tmp_path / "exported.zip").write_bytes(zip_bytes(list(good_run.items())))
    assert main(["import", str(tmp_path / "exported.zip"), "--runs-dir", str(tmp_path / "runs")]) == 0
    folder = write_as_on_disk(good_run, tmp_path / "folder")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")  # Finder's, ignored like every hidden file
    assert main(["import", str(folder), "--runs-dir", str(tmp_path / "runs"), "--name", "second"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "runs" / "tiny"), str(tmp_path / "runs" / "second")]
    assert load_run(printed[1]).name == "second"


def test_import_into_a_runs_folder_that_cannot_be_written_says_so(good_run, tmp_path, capsys, monkeypatch):
    (tmp_path / "run.zip").write_bytes(zip_bytes(list(good_run.items())))
    (tmp_path / "a-file").write_text("a file where the runs folder should be")
    line = cli_error(["import", str(tmp_path / "run.zip"), "--runs-dir", str(tmp_path / "a-file")], capsys)
    assert line.endswith("a-file is a file, not a folder")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(upload, "install_run_folder", disk_full)
    assert main(["import", str(tmp_path / "run.zip"), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert err == f"error: could not save the run in {tmp_path / 'runs'} (No space left on device)\n"


def test_a_zip_over_the_size_cap_is_refused_from_its_size(good_run, tmp_path, capsys, monkeypatch):
    # On disk: a sparse file one byte over the real cap, refused from its size without being read.
    big = tmp_path / "big.zip"
    with open(big, "wb") as f:
        f.truncate(upload.MAX_ZIP_BYTES + 1)
    before = files_under(tmp_path)
    line = cli_error(["import", str(big), "--runs-dir", str(tmp_path / "runs")], capsys)
    assert re.search(rf"big\.zip is 100\.0 MB, over the {MAX_UPLOAD_FILE_MB} MB limit", line), line
    # In memory (the API, as the app calls it), with the cap lowered to keep the test small.
    data = zip_bytes(list(good_run.items()))
    monkeypatch.setattr(upload, "MAX_ZIP_BYTES", len(data) - 1)
    with pytest.raises(ValueError, match=r"upload: big\.zip is [\d.]+ MB, over the [\d.]+ MB limit"):
        import_uploaded_run({"big.zip": data}, tmp_path / "runs")
    assert files_under(tmp_path) == before


def test_the_code_caps_uploads_where_the_app_config_does():
    config = (REPO / ".streamlit" / "config.toml").read_text()
    server_cap_mb = int(re.search(r"^maxUploadSize\s*=\s*(\d+)", config, re.MULTILINE)[1])
    assert server_cap_mb == MAX_UPLOAD_FILE_MB
    assert upload.MAX_ZIP_BYTES == image_input.MAX_IMAGE_BYTES == MAX_UPLOAD_FILE_MB * MB


@pytest.mark.slow
def test_a_real_cli_process_refuses_a_pickle_without_running_it_or_a_traceback(tmp_path):
    marker = tmp_path / "payload-ran"
    (tmp_path / "model.pt").write_bytes(pickle_payload(marker))
    proc = subprocess.run([sys.executable, "-m", "vae_core", "import", str(tmp_path / "model.pt"),
                           "--runs-dir", str(tmp_path / "runs")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and "safetensors" in proc.stderr.splitlines()[-1]
    assert not marker.exists() and not (tmp_path / "runs").exists()


# The CLI as its own process, printing its peak memory (Linux: kilobytes) when it exits.
REPORT_PEAK_MEMORY = (
    "import atexit, resource, sys; from vae_core.cli import main; "
    "atexit.register(lambda: print('peak KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)); "
    "sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in kilobytes on Linux only")
def test_a_config_asking_for_huge_layers_is_refused_before_they_are_built(good_run, tmp_path):
    fault = FAULTS_BY_ID["config.json-asks-for-huge-layers"]
    folder = write_as_on_disk(fault.build(good_run, tmp_path / "unused"), tmp_path / "huge")
    proc = subprocess.run([sys.executable, "-c", REPORT_PEAK_MEMORY, "import", str(folder), "--runs-dir",
                           str(tmp_path / "runs")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and re.search(fault.message, proc.stderr), proc.stderr
    peak_bytes = int(re.search(r"peak KB (\d+)", proc.stderr)[1]) * 1024
    # Built for real, 4 + 4 layers of 8192 × 8192 floats would add 1.5 GB to the ~0.7 GB torch itself takes.
    assert peak_bytes < 1.5e9


# ---------------------------------------------------------------- dataset files


@pytest.mark.parametrize("fault", DATA_FAULTS, ids=lambda f: f.id)
def test_data_fault_is_refused_by_the_api_and_cli_train(fault, tmp_path, capsys):
    marker = tmp_path / "payload-ran"
    (tmp_path / "data").mkdir()
    spec = fault.build(tmp_path / "data", marker)
    before = files_under(tmp_path)
    with pytest.raises(ValueError, match=fault.message) as refused:
        load_dataset(spec)
    assert "\n" not in str(refused.value)
    line = cli_error(["train", "--dataset", spec, "--out", str(tmp_path / "runs"), "--epochs", "1", "--quiet"], capsys)
    assert re.search(fault.message, line), line
    assert files_under(tmp_path) == before
    assert not marker.exists()


# ---------------------------------------------------------------- run names


@pytest.mark.parametrize("name", HOSTILE_RUN_NAMES.values(), ids=HOSTILE_RUN_NAMES.keys())
def test_hostile_run_name_is_refused_by_the_api(name, good_run, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    before = files_under(tmp_path)
    for attempt in (sanitize_run_name, lambda n: run_dir_for(runs, n), lambda n: import_uploaded_run(good_run, runs, name=n)):
        with pytest.raises(ValueError, match=r"^run name .*(use letters|may not)") as refused:
            attempt(name)
        assert "\n" not in str(refused.value)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("name", HOSTILE_RUN_NAMES.values(), ids=HOSTILE_RUN_NAMES.keys())
def test_hostile_run_name_is_refused_by_cli_train_and_import(name, good_run, tmp_path, capsys):
    (tmp_path / "run.zip").write_bytes(zip_bytes(list(good_run.items())))
    before = files_under(tmp_path)
    runs = str(tmp_path / "runs")
    train = ["train", "--dataset", "digits", "--hidden-sizes", "8", "--epochs", "1", "--out", runs, "--name", name, "--quiet"]
    for argv in (train, ["import", str(tmp_path / "run.zip"), "--runs-dir", runs, "--name", name]):
        assert "run name" in cli_error(argv, capsys)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("config_name", ["../../outside", "/etc/cron.d/evil", "line\nbreak", "..", "a/../../b"])
def test_a_hostile_name_inside_an_upload_is_sanitised_into_the_runs_folder(config_name, good_run, tmp_path):
    import json

    config = json.loads(good_run["config.json"])
    config["name"] = config_name
    files = {**good_run, "config.json": json.dumps(config).encode()}
    runs = tmp_path / "runs"
    before = files_under(tmp_path)
    run_dir = import_uploaded_run({"../../escape.zip": zip_bytes(list(files.items()))}, runs)
    assert run_dir.parent == runs and run_dir.name == "escape"  # the zip's own name, as its config's is unusable
    assert {p for p in files_under(tmp_path) - before if not p.startswith("runs/escape/")} == {"runs", "runs/escape"}
    assert load_run(run_dir).name == "escape"
