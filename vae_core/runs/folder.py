"""A run folder on disk: read one saved version of its files, and swap a new version in atomically.

Atomic save (a SIGKILL at any moment leaves the previous complete run or the new one):
  1. write every file into a fresh hidden sibling `.<name>.tmp-<hex>`, config.json last, fsync files
     and folder (config.json names the weights' sha256, so once it parses every other file is whole);
  2. if `<name>` exists, rename it to `.<name>.old-<hex>`;
  3. rename the temp folder to `<name>` and fsync the parent;
  4. delete the old folder.
The temp folder plays the part of the per-file temp file: no file is ever rewritten in place.
Only a kill between steps 2 and 3 leaves no `<name>`, and then both siblings are complete.
Readers never rename anything: a reader restoring a folder could collide with a live writer's
step 3, and shipped assets may be read-only. When `<name>` is missing they read the newest
complete sibling instead; the next save of that name renames it back, then deletes leftovers.
A folder is complete when config.json's weights_sha256 matches model.safetensors and
metrics.json exists. A reader that sees the folder swapped while it reads simply reads again.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

from vae_core.runs.format import (
    CONFIG_FILE,
    MB,
    METRICS_FILE,
    OPTIMIZER_FILE,
    REQUIRED_FILES,
    RUN_FILES,
    WEIGHTS_FILE,
    max_bytes,
    sha256_hex,
)
from vae_core.runs.names import TEMP_SIBLING_RE, RunNameTaken, claim_run_name

_READ_ATTEMPTS = 5


def _read_capped(path: Path, file_name: str) -> bytes:
    """Read a file, refusing it before reading when it is over its size limit."""
    cap = max_bytes(file_name)
    try:
        size = path.stat().st_size
        if size > cap:
            raise ValueError(f"{file_name} is {size / MB:.1f} MB, over the {cap / MB:.0f} MB limit")
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except FileNotFoundError:
        raise
    except OSError as e:  # a folder where the file should be, no permission, ...
        raise ValueError(f"{file_name} cannot be read ({e.strerror})") from None
    if len(data) > cap:  # it grew after the stat
        raise ValueError(f"{file_name} is over the {cap / MB:.0f} MB limit")
    return data


def _folder_id(folder: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _siblings(run_dir: Path) -> list[Path]:
    """Hidden temp/old folders a save of this run name left or is using."""
    if not run_dir.parent.is_dir():
        return []
    found = []
    for entry in run_dir.parent.iterdir():
        m = TEMP_SIBLING_RE.match(entry.name)
        if m and m["name"] == run_dir.name and entry.is_dir() and not entry.is_symlink():
            found.append(entry)
    return found


def is_complete_run_folder(folder: Path) -> bool:
    """True when config.json's weights_sha256 matches model.safetensors and metrics.json exists."""
    try:
        config = json.loads(_read_capped(folder / CONFIG_FILE, CONFIG_FILE))
        weights = _read_capped(folder / WEIGHTS_FILE, WEIGHTS_FILE)
        return (folder / METRICS_FILE).is_file() and config.get("weights_sha256") == sha256_hex(weights)
    except (OSError, ValueError, AttributeError):
        return False


def complete_siblings(run_dir: Path) -> list[Path]:
    """Complete siblings, newest save first (a `.tmp-` one is newer than an `.old-` one of the same time)."""
    complete = [p for p in _siblings(run_dir) if is_complete_run_folder(p)]

    def age_key(p: Path) -> tuple[int, bool]:
        try:
            mtime = (p / CONFIG_FILE).stat().st_mtime_ns
        except OSError:
            mtime = 0
        return mtime, ".tmp-" in p.name

    return sorted(complete, key=age_key, reverse=True)


def resolve_run_folder(run_dir: str | Path) -> Path:
    """The folder holding the run's files: `run_dir`, or the complete sibling a killed save left."""
    run_dir = Path(run_dir)
    if run_dir.is_dir():
        return run_dir
    if run_dir.exists():
        raise ValueError(f"{run_dir} is a file, not a run folder")
    complete = complete_siblings(run_dir)
    if complete:
        return complete[0]
    raise ValueError(f"folder {run_dir} does not exist")


def read_files(run_dir: Path, names: tuple[str, ...]) -> tuple[Path, dict[str, bytes | None]]:
    """Bytes of `names` from one saved version (None when absent); reads again if a save swaps the folder meanwhile."""
    for _ in range(_READ_ATTEMPTS):
        folder = resolve_run_folder(run_dir)
        before = _folder_id(folder)
        files: dict[str, bytes | None] = {}
        for name in names:
            try:
                files[name] = _read_capped(folder / name, name)
            except FileNotFoundError:
                files[name] = None
        if before is not None and _folder_id(folder) == before:
            return folder, files
        time.sleep(0.02)
    return folder, files


def require_files(files: dict[str, bytes | None]) -> None:
    missing = [name for name, data in files.items() if data is None]
    if missing:
        raise ValueError(
            f"{', '.join(missing)} missing; a run folder needs {', '.join(REQUIRED_FILES)}"
            f" (and optionally {OPTIMIZER_FILE})"
        )


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make renames and new entries in `folder` durable; Windows cannot open folders, so skip there."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _restore_if_missing(run_dir: Path) -> None:
    """After a save killed between its two renames, put the newest complete sibling back in place."""
    if run_dir.exists() or run_dir.is_symlink():
        return
    complete = complete_siblings(run_dir)
    if complete:
        os.rename(complete[0], run_dir)
        _fsync_dir(run_dir.parent)


def _check_replaceable(run_dir: Path) -> None:
    """Refuse to replace a folder holding anything but run files: it may be someone's data."""
    if not (run_dir.exists() or run_dir.is_symlink()):
        return
    if not run_dir.is_dir() or run_dir.is_symlink():
        raise ValueError(f"cannot save run: {run_dir} exists and is not a run folder")
    extra = sorted(p.name for p in run_dir.iterdir() if p.name not in RUN_FILES and not p.name.startswith("."))
    if extra:
        raise ValueError(f"cannot save run: {run_dir} holds other files {extra[:5]}; refusing to replace it")


def install_run_folder(run_dir: Path, files: dict[str, bytes], replace: bool = True) -> None:
    """Atomically make `run_dir` hold exactly `files` (see the module docstring).

    With replace=False the name is claimed for the length of the save (run_names.claim_run_name), so a
    name a training session holds is never taken; an existing `run_dir` or a claimed name raises
    FileExistsError and nothing is left behind. With replace=True the caller should hold the claim."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if replace:
        _swap_in(run_dir, files, replace=True)
        return
    try:
        claim = claim_run_name(run_dir.parent, run_dir.name)
    except RunNameTaken:
        raise FileExistsError(f"{run_dir} already exists or is being trained") from None
    with claim:
        _swap_in(run_dir, files, replace=False)


def _swap_in(run_dir: Path, files: dict[str, bytes], replace: bool) -> None:
    parent = run_dir.parent
    if not replace and (run_dir.exists() or run_dir.is_symlink() or _siblings(run_dir)):
        raise FileExistsError(f"{run_dir} already exists")
    _restore_if_missing(run_dir)  # before deleting leftovers: they may hold the only complete copy
    _check_replaceable(run_dir)
    for leftover in _siblings(run_dir):
        shutil.rmtree(leftover, ignore_errors=True)
    tmp = parent / f".{run_dir.name}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        for name in sorted(files, key=lambda n: n == CONFIG_FILE):  # config.json last: see the module docstring
            _write_synced(tmp / name, files[name])
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if run_dir.exists() and not replace:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FileExistsError(f"{run_dir} already exists")
    if run_dir.exists():
        old = parent / f".{run_dir.name}.old-{secrets.token_hex(4)}"
        os.rename(run_dir, old)
    try:
        os.rename(tmp, run_dir)
    except OSError:
        # Only a writer that does not hold the claim can get here, by creating `run_dir` meanwhile.
        shutil.rmtree(tmp, ignore_errors=True)
        if run_dir.exists():
            raise FileExistsError(f"{run_dir} already exists") from None
        raise
    _fsync_dir(parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def with_run_name(run_dir: str | Path, error: ValueError) -> ValueError:
    return ValueError(f"run '{Path(run_dir).name}': {error}")
