"""Check a run a user uploads (loose files or one .zip) and add it to the runs folder.

Names, sizes and pickles are checked in memory, then the run is fully loaded from a private temp
folder; only then is it moved into runs_root, atomically. Nothing is ever unpickled.
The CLI's `import` hands over a .zip or run folder on disk the same way (read_run_source).
"""
from __future__ import annotations

import io
import json
import re
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

from vae_core.data.limits import MAX_UPLOAD_FILE_MB
from vae_core.runs.checkpoint import load_run
from vae_core.runs.folder import install_run_folder
from vae_core.runs.format import (
    CONFIG_FILE,
    EXPORT_HINT,
    MB,
    METRICS_FILE,
    OPTIMIZER_FILE,
    RUN_FILES,
    WEIGHTS_FILE,
    empty_metrics,
    max_bytes,
    parse_json,
)
from vae_core.runs.names import run_dir_for, sanitize_run_name, unique_run_name
from vae_core.runs.optimizer_state import load_optimizer_state

MAX_ZIP_BYTES = MAX_UPLOAD_FILE_MB * MB  # the app's uploader has the same cap (.streamlit/config.toml)
MAX_UPLOAD_BYTES = 200 * MB  # all run files together, uncompressed
MAX_ZIP_ENTRIES = 64
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar")
EXPECTED = f"{CONFIG_FILE} and {WEIGHTS_FILE} (optionally {METRICS_FILE}, {OPTIMIZER_FILE})"


def _refuse_pickle_name(name: str) -> None:
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise ValueError(f"upload: '{name}' is a PyTorch/pickle file; {EXPORT_HINT}")


def _check_loose_name(name: str) -> None:
    _refuse_pickle_name(name)
    if name not in RUN_FILES and not name.lower().endswith(".zip"):
        raise ValueError(f"upload: unexpected file '{name}'; a run upload holds only {EXPECTED}, or one .zip of them")


def _check_run_files(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        if len(data) > max_bytes(name):
            raise ValueError(f"upload: {name} is {len(data) / MB:.1f} MB, over the {max_bytes(name) / MB:.0f} MB limit")
    total = sum(len(d) for d in files.values())
    if total > MAX_UPLOAD_BYTES:
        raise ValueError(f"upload: the run files add up to {total / MB:.1f} MB, over the {MAX_UPLOAD_BYTES / MB:.0f} MB limit")
    missing = [n for n in (CONFIG_FILE, WEIGHTS_FILE) if n not in files]
    if missing:
        raise ValueError(f"upload: {', '.join(missing)} missing; a run upload holds {EXPECTED}")


def _member_parts(name: str) -> list[str]:
    """Path parts of a zip entry, refusing anything that could land outside the extraction folder."""
    if "\\" in name:
        raise ValueError(f"upload: zip entry '{name}' contains '\\'; zip the files again with a standard zip tool")
    if any(ord(ch) < 32 for ch in name):
        raise ValueError(f"upload: zip entry {name!r} contains a control character")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise ValueError(f"upload: zip entry '{name}' is an absolute path; the zip must hold only {EXPECTED}")
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"upload: zip entry '{name}' contains '..' or an empty part; refusing a path that leaves its folder")
    return parts


def _read_zip(zip_name: str, data: bytes) -> dict[str, bytes]:
    if len(data) > MAX_ZIP_BYTES:
        raise ValueError(f"upload: {zip_name} is {len(data) / MB:.1f} MB, over the {MAX_ZIP_BYTES / MB:.0f} MB limit")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        raise ValueError(f"upload: {zip_name} is not a valid zip file ({e})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ValueError(f"upload: {zip_name} has {len(infos)} entries; a run zip holds only {EXPECTED}")
        seen: set[str] = set()
        folders: set[str] = set()
        members: list[tuple[zipfile.ZipInfo, str]] = []
        for info in infos:
            name = info.filename
            # Finder's "Compress" adds these; they are metadata, not run files.
            if name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1] == ".DS_Store":
                continue
            parts = _member_parts(name)
            if name in seen:
                raise ValueError(f"upload: zip entry '{name}' appears twice")
            seen.add(name)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ValueError(f"upload: zip entry '{name}' is a symbolic link; links are not allowed")
            if info.flag_bits & 0x1:
                raise ValueError(f"upload: zip entry '{name}' is encrypted; zip the files without a password")
            if info.is_dir():
                if len(parts) > 1:
                    raise ValueError(f"upload: zip entry '{name}' is a nested folder; put the files at the top or in one folder")
                folders.add(parts[0])
                continue
            _refuse_pickle_name(name)
            if len(parts) > 2:
                raise ValueError(f"upload: zip entry '{name}' is nested too deep; put the files at the top or in one folder")
            if parts[-1] not in RUN_FILES:
                raise ValueError(f"upload: unexpected file '{name}' in the zip; a run zip holds only {EXPECTED}")
            if len(parts) == 2:
                folders.add(parts[0])
            members.append((info, parts[-1]))
        if len(folders) > 1:
            raise ValueError(f"upload: the zip holds several folders {sorted(folders)}; put the files in one folder")
        if folders and any(len(_member_parts(i.filename)) == 1 for i, _ in members):
            raise ValueError("upload: the zip mixes files at the top with files in a folder; use one or the other")
        names = [base for _, base in members]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"upload: the zip holds {duplicated} more than once")
        total = 0
        for info, base in members:
            if info.file_size > max_bytes(base):
                raise ValueError(
                    f"upload: '{info.filename}' is {info.file_size / MB:.1f} MB, "
                    f"over the {max_bytes(base) / MB:.0f} MB limit"
                )
            total += info.file_size
        if total > MAX_UPLOAD_BYTES:
            raise ValueError(f"upload: the zip unpacks to {total / MB:.1f} MB, over the {MAX_UPLOAD_BYTES / MB:.0f} MB limit")
        files = {}
        for info, base in members:
            try:
                with archive.open(info) as f:
                    # The size in the header may lie; never read past what it promised.
                    content = f.read(info.file_size + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as e:
                raise ValueError(f"upload: zip entry '{info.filename}' cannot be read ({e})") from None
            if len(content) != info.file_size:
                raise ValueError(f"upload: zip entry '{info.filename}' is not the size its header says; the zip is damaged")
            files[base] = content
    _check_run_files(files)
    return files


def read_upload(files: dict[str, bytes]) -> dict[str, bytes]:
    """The run files of an upload ({file name: bytes}, loose or one .zip), checked for names, sizes and pickles."""
    if not files:
        raise ValueError(f"upload: no files; upload {EXPECTED}, or one .zip holding them")
    for name in files:
        _check_loose_name(name)
    zips = [n for n in files if n.lower().endswith(".zip")]
    if zips:
        if len(files) != 1:
            raise ValueError("upload: upload either one .zip or the loose run files, not both")
        return _read_zip(zips[0], files[zips[0]])
    run_files = dict(files)
    _check_run_files(run_files)
    return run_files


def _read_file(path: Path, cap: int) -> bytes:
    """A file's bytes, refused from its size before reading when over `cap`."""
    if not path.is_file():
        raise ValueError(f"upload: {path} is not a regular file")
    try:
        size = path.stat().st_size
        if size > cap:
            raise ValueError(f"upload: {path.name} is {size / MB:.1f} MB, over the {cap / MB:.0f} MB limit")
        with open(path, "rb") as f:
            data = f.read(cap + 1)  # the file may grow meanwhile; never read past the cap
    except OSError as e:
        raise ValueError(f"upload: {path} cannot be read ({e.strerror})") from None
    if len(data) > cap:
        raise ValueError(f"upload: {path.name} is over the {cap / MB:.0f} MB limit")
    return data


def read_run_source(path: str | Path) -> dict[str, bytes]:
    """{file name: bytes} of a run on disk, ready for import_uploaded_run: one .zip, or a folder's run files.

    Names are checked before any byte is read, so a pickle or an oversized file is never opened."""
    path = Path(path)
    if path.is_dir():
        # Hidden entries are Finder's .DS_Store and editors' swap files, not run files.
        entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        for entry in entries:
            _check_loose_name(entry.name)
            if entry.name.lower().endswith(".zip"):
                raise ValueError(f"upload: {entry} is a .zip inside a run folder; import the .zip itself")
        if not entries:
            raise ValueError(f"upload: folder {path} is empty; expected {EXPECTED}")
        return {entry.name: _read_file(entry, max_bytes(entry.name)) for entry in entries}
    if not path.exists():
        raise ValueError(f"upload: {path} does not exist; expected a .zip of a run, or a folder holding {EXPECTED}")
    _check_loose_name(path.name)
    return {path.name: _read_file(path, MAX_ZIP_BYTES if path.name not in RUN_FILES else max_bytes(path.name))}


def validate_uploaded_run(files: dict[str, bytes]) -> dict[str, bytes]:
    """Run files ready to install (metrics.json added if absent), after a full load; ValueError otherwise."""
    run_files = read_upload(files)
    if METRICS_FILE not in run_files:
        run_files[METRICS_FILE] = json.dumps(empty_metrics("uploaded without training history")).encode()
    with tempfile.TemporaryDirectory(prefix="vae-upload-") as tmp:
        folder = Path(tmp) / "upload"
        folder.mkdir()
        for name, data in run_files.items():
            (folder / name).write_bytes(data)
        try:
            load_run(folder)
            load_optimizer_state(folder)
        except ValueError as e:
            # The temp folder's name means nothing to the user; keep only the problem.
            raise ValueError(f"upload rejected: {str(e).removeprefix(f'run {folder.name!r}: ')}") from e
    return run_files


def _default_name(files: dict[str, bytes], config: dict) -> str:
    candidates = [config.get("name"), *(Path(n).stem for n in files if n.lower().endswith(".zip"))]
    for candidate in candidates:
        try:
            return sanitize_run_name(candidate)
        except ValueError:
            continue
    return "uploaded-run"


def import_uploaded_run(files: dict[str, bytes], runs_root: str | Path, name: str | None = None) -> Path:
    """Validate an upload and add it to `runs_root` under a free sanitized name; returns the new run folder.

    On any problem raises ValueError and leaves runs_root untouched."""
    base = sanitize_run_name(name) if name is not None else None
    run_files = validate_uploaded_run(files)
    config = parse_json(run_files[CONFIG_FILE], CONFIG_FILE)
    base = base or _default_name(files, config)
    runs_root = Path(runs_root)
    if runs_root.exists() and not runs_root.is_dir():
        raise ValueError(f"upload: the runs folder {runs_root} is a file, not a folder")
    for _ in range(20):
        final = unique_run_name(runs_root, base)
        run_dir = run_dir_for(runs_root, final)
        config["name"] = final
        run_files[CONFIG_FILE] = (json.dumps(config, indent=2) + "\n").encode()
        try:
            install_run_folder(run_dir, run_files, replace=False)
        except FileExistsError:  # another upload took the name meanwhile
            continue
        return run_dir
    raise ValueError(f"upload: could not find a free run name for {base!r} in {runs_root}")
