"""Runs on disk: save a model with its configs and history, load it back fully validated.

A run is one folder: model.safetensors, config.json, metrics.json and optionally
optimizer.safetensors (docs/INTERFACES.md). Nothing is ever unpickled.

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

import hashlib
import json
import os
import re
import secrets
import shutil
import struct
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import safetensors.torch
from safetensors.torch import load as safetensors_from_bytes  # parses bytes; never unpickles
import torch

from vae_core.models import AE, VAE, ModelConfig, build_model
from vae_core.run_names import TEMP_SIBLING_RE, RunNameTaken, claim_run_name, sanitize_run_name
from vae_core.train_config import TrainConfig

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
OPTIMIZER_FILE = "optimizer.safetensors"
RUN_FILES = (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, OPTIMIZER_FILE)
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE)

MB = 1024 * 1024
MAX_WEIGHTS_BYTES = 200 * MB
MAX_OPTIMIZER_BYTES = 2 * MAX_WEIGHTS_BYTES + MB  # Adam keeps two moments per weight
MAX_CONFIG_BYTES = 1 * MB
MAX_METRICS_BYTES = 64 * MB  # 5000 step records with 128 KL values each is about 13 MB

CONFIG_FIELDS = ("format_version", "name", "created", "model", "train", "dataset", "weights_sha256")
# Fields every version-1 config.json carries; fields added to ModelConfig later stay optional.
MODEL_FIELDS_V1 = ("kind", "arch", "image_shape", "latent_dim", "hidden_sizes", "conv_channels", "likelihood", "c")
DATASET_FIELDS = ("spec", "seed", "image_shape", "class_names")
RUN_STATES = ("finished", "stopped", "time_limit", "diverged", "running")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_READ_ATTEMPTS = 5


def max_bytes(file_name: str) -> int:
    """Size limit for one run file, read at call time so tests can lower the module constants."""
    return {
        CONFIG_FILE: MAX_CONFIG_BYTES,
        WEIGHTS_FILE: MAX_WEIGHTS_BYTES,
        METRICS_FILE: MAX_METRICS_BYTES,
        OPTIMIZER_FILE: MAX_OPTIMIZER_BYTES,
    }[file_name]


@dataclass
class Run:
    """A loaded run: the model in eval mode on its device, with everything saved beside it."""

    path: Path
    name: str
    created: str
    model: VAE | AE
    model_config: ModelConfig
    train_config: TrainConfig | None
    dataset_info: dict
    metrics: dict
    weights_sha256: str


# ---------------------------------------------------------------- validation of file contents


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_json(data: bytes, file_name: str) -> object:
    """Parse JSON bytes, or raise ValueError naming the file, line and column."""
    if looks_like_pickle(data):
        raise ValueError(f"{file_name} is a pickle / PyTorch file, not JSON; {EXPORT_HINT}")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{file_name} is not text (not UTF-8), so it cannot be JSON") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{file_name} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"{file_name} nests lists or objects too deeply to be a run file") from None
    except ValueError as e:  # e.g. an integer with more digits than Python will convert
        raise ValueError(f"{file_name} is not valid JSON ({e})") from None


def validate_dataset_info(info: object, image_shape: tuple[int, ...], where: str = "config.json: dataset") -> dict:
    """Check the dataset description saved in a run; extra descriptive keys are kept."""
    if not isinstance(info, dict):
        raise ValueError(f"{where}: expected a JSON object, got {_json_type(info)}")
    missing = [k for k in DATASET_FIELDS if k not in info]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}; expected {list(DATASET_FIELDS)}")
    if not isinstance(info["spec"], str) or not info["spec"]:
        raise ValueError(f"{where} field 'spec': expected a dataset name such as 'mnist', got {info['spec']!r}")
    if not _is_int(info["seed"]):
        raise ValueError(f"{where} field 'seed': expected an integer, got {info['seed']!r}")
    shape = info["image_shape"]
    if not isinstance(shape, (list, tuple)) or len(shape) != 3 or not all(_is_int(s) for s in shape):
        raise ValueError(f"{where} field 'image_shape': expected [channels, height, width], got {shape!r}")
    if list(shape) != list(image_shape):
        raise ValueError(f"{where} field 'image_shape': {list(shape)} differs from the model's {list(image_shape)}")
    names = info["class_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where} field 'class_names': expected a list of text, got {names!r}")
    return {**info, "image_shape": list(shape), "class_names": list(names)}


def validate_run_config(data: object) -> dict:
    """Check a parsed config.json; raise ValueError saying which field is wrong and how."""
    if not isinstance(data, dict):
        raise ValueError(f"config.json: expected a JSON object, got {_json_type(data)}")
    missing = [k for k in CONFIG_FIELDS if k not in data]
    if missing:
        raise ValueError(f"config.json: missing field(s) {missing}")
    unknown = sorted(set(data) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"config.json: unknown field(s) {unknown}; expected only {list(CONFIG_FIELDS)}")
    if data["format_version"] != FORMAT_VERSION or not _is_int(data["format_version"]):
        raise ValueError(
            f"config.json: format_version {data['format_version']!r} is not supported (this version reads {FORMAT_VERSION})"
        )
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ValueError(f"config.json field 'name': expected non-empty text, got {data['name']!r}")
    if not isinstance(data["created"], str) or _parse_created(data["created"]) is None:
        raise ValueError(
            f"config.json field 'created': expected an ISO-8601 time such as '2024-05-01T12:00:00+00:00', "
            f"got {data['created']!r}"
        )
    model = data["model"]
    if not isinstance(model, dict):
        raise ValueError(f"config.json field 'model': expected a JSON object, got {_json_type(model)}")
    missing = [k for k in MODEL_FIELDS_V1 if k not in model]
    if missing:
        raise ValueError(f"config.json: model config is missing field(s) {missing}")
    try:
        model_config = ModelConfig.from_dict(model)
    except (TypeError, ValueError) as e:
        raise ValueError(f"config.json: {e}") from None
    if data["train"] is not None:
        try:
            TrainConfig.from_dict(data["train"])
        except (TypeError, ValueError) as e:
            raise ValueError(f"config.json: {e}") from None
    validate_dataset_info(data["dataset"], model_config.image_shape)
    sha = data["weights_sha256"]
    if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha):
        raise ValueError(f"config.json field 'weights_sha256': expected 64 lowercase hex digits, got {sha!r}")
    return data


def validate_metrics(data: object, file_name: str = METRICS_FILE) -> dict:
    """Check the shape of a metrics history: {"history": [...], "steps": [...], "status": {...}}."""
    if not isinstance(data, dict):
        raise ValueError(f"{file_name}: expected a JSON object, got {_json_type(data)}")
    if not isinstance(data.get("history"), list):
        raise ValueError(f"{file_name} field 'history': expected a list of epoch records, got {_json_type(data.get('history'))}")
    for key in ("history", "steps"):
        records = data.get(key, [])
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{file_name} field '{key}': expected a list of JSON objects")
    status = data.get("status")
    if status is not None:
        if not isinstance(status, dict):
            raise ValueError(f"{file_name} field 'status': expected a JSON object, got {_json_type(status)}")
        if "state" in status and status["state"] not in RUN_STATES:
            raise ValueError(f"{file_name} field 'status.state': expected one of {RUN_STATES}, got {status['state']!r}")
    return data


def empty_metrics(message: str = "no training history") -> dict:
    """metrics.json content for a run without history (e.g. uploaded weights alone)."""
    return {"history": [], "steps": [], "status": {"state": "finished", "message": message, "epochs_done": 0, "step": 0}}


def _parse_created(text: str) -> datetime | None:
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


def created_timestamp(text: str) -> float:
    """Seconds since 1970 for a run's 'created' text; 0.0 when it cannot be read."""
    created = _parse_created(text) if isinstance(text, str) else None
    return created.timestamp() if created else 0.0


# ---------------------------------------------------------------- safetensors without pickle

EXPORT_HINT = (
    "for safety this app never opens pickle files (.pt, .pth, .pkl, .ckpt). Export the run to safetensors: "
    "safetensors.torch.save_file(model.state_dict(), 'model.safetensors'), plus its config.json"
)


def looks_like_pickle(data: bytes) -> bool:
    """True for a pickle stream (protocol 2–5) or a zip archive, which is what torch.save writes."""
    return (len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5) or data[:4] == b"PK\x03\x04"


def _parse_safetensors(data: bytes, file_name: str) -> dict[str, torch.Tensor]:
    try:
        return safetensors_from_bytes(data)
    except Exception as e:  # safetensors raises SafetensorError, and others for odd headers
        if looks_like_pickle(data):
            raise ValueError(f"{file_name} is a pickle / PyTorch .pt file, not safetensors; {EXPORT_HINT}") from None
        raise ValueError(
            f"{file_name} is corrupt or truncated ({e}); copy it again, or save the run again"
        ) from None


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The free-text metadata of a safetensors file that already parsed."""
    (header_len,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_weights_fit(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Raise ValueError naming the first tensor whose name, shape or dtype does not fit the model."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise ValueError(
            f"{WEIGHTS_FILE} lacks tensor(s) {missing[:5]} that config.json's model needs; "
            f"the weights belong to a different model"
        )
    unexpected = [k for k in tensors if k not in expected]
    if unexpected:
        raise ValueError(
            f"{WEIGHTS_FILE} has tensor(s) {unexpected[:5]} that config.json's model does not have; "
            f"the weights belong to a different model"
        )
    for key, want in expected.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(want.shape):
            raise ValueError(
                f"{WEIGHTS_FILE}: tensor '{key}' has shape {list(got.shape)} but config.json's model "
                f"expects {list(want.shape)}"
            )
        if not got.is_floating_point():
            raise ValueError(f"{WEIGHTS_FILE}: tensor '{key}' has dtype {got.dtype}; expected floating point")


# ---------------------------------------------------------------- reading a run folder


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


def _read_files(run_dir: Path, names: tuple[str, ...]) -> tuple[Path, dict[str, bytes | None]]:
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


def _require(files: dict[str, bytes | None]) -> None:
    missing = [name for name, data in files.items() if data is None]
    if missing:
        raise ValueError(
            f"{', '.join(missing)} missing; a run folder needs {', '.join(REQUIRED_FILES)}"
            f" (and optionally {OPTIMIZER_FILE})"
        )


def _with_run_name(run_dir: str | Path, error: ValueError) -> ValueError:
    return ValueError(f"run '{Path(run_dir).name}': {error}")


def read_run_config(run_dir: str | Path) -> dict:
    """config.json of a run, validated, without reading the weights."""
    try:
        _, files = _read_files(Path(run_dir), (CONFIG_FILE,))
        _require(files)
        return validate_run_config(parse_json(files[CONFIG_FILE], CONFIG_FILE))
    except ValueError as e:
        raise _with_run_name(run_dir, e) from e


def read_run_metrics(run_dir: str | Path) -> dict:
    """metrics.json of a run, validated, without reading the weights."""
    try:
        _, files = _read_files(Path(run_dir), (METRICS_FILE,))
        _require(files)
        return validate_metrics(parse_json(files[METRICS_FILE], METRICS_FILE))
    except ValueError as e:
        raise _with_run_name(run_dir, e) from e


def _load(run_dir: Path, device: str | torch.device) -> Run:
    _, files = _read_files(run_dir, REQUIRED_FILES)
    _require(files)
    config = validate_run_config(parse_json(files[CONFIG_FILE], CONFIG_FILE))
    metrics = validate_metrics(parse_json(files[METRICS_FILE], METRICS_FILE))
    weights = files[WEIGHTS_FILE]
    tensors = _parse_safetensors(weights, WEIGHTS_FILE)
    if sha256_hex(weights) != config["weights_sha256"]:
        raise ValueError(
            f"{WEIGHTS_FILE} does not match config.json (its sha256 differs from weights_sha256): the two files "
            f"come from different saves; copy all files of the run from the same folder"
        )
    model_config = ModelConfig.from_dict(config["model"])
    train = config["train"]
    # Shapes are compared on the meta device first: a config.json asking for huge layers must not
    # make us allocate gigabytes before we notice the weights (at most MAX_WEIGHTS_BYTES) do not fit.
    with torch.device("meta"):
        _check_weights_fit(build_model(model_config), tensors)
    model = build_model(model_config)
    model.load_state_dict(tensors, strict=True)
    model.to(device).eval()
    return Run(
        path=run_dir,
        name=config["name"],
        created=config["created"],
        model=model,
        model_config=model_config,
        train_config=None if train is None else TrainConfig.from_dict(train),
        dataset_info=config["dataset"],
        metrics=metrics,
        weights_sha256=config["weights_sha256"],
    )


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load and validate a run; the model is in eval mode on `device`. Raises ValueError on any problem."""
    try:
        return _load(Path(run_dir), device)
    except ValueError as e:
        raise _with_run_name(run_dir, e) from e


# ---------------------------------------------------------------- optimizer state


def _optimizer_to_bytes(state: dict, weights_sha: str) -> bytes:
    """Adam-style state_dict -> safetensors: tensors `state.<param>.<key>`, param_groups as JSON metadata."""
    tensors = {}
    for index, per_param in state["state"].items():
        for key, value in per_param.items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"optimizer state: '{key}' of parameter {index} is {type(value).__name__}; only tensors are saved")
            tensors[f"state.{int(index)}.{key}"] = value.detach().cpu().contiguous()
    try:
        groups = json.dumps(state["param_groups"])
    except TypeError as e:
        raise ValueError(f"optimizer param_groups are not JSON-serialisable: {e}") from None
    return safetensors.torch.save(tensors, metadata={"param_groups": groups, "weights_sha256": weights_sha})


def load_optimizer_state(run_dir: str | Path) -> dict | None:
    """The saved optimizer state_dict (for `optimizer.load_state_dict`), or None if the run has none."""
    try:
        _, files = _read_files(Path(run_dir), (OPTIMIZER_FILE, CONFIG_FILE))
        data = files[OPTIMIZER_FILE]
        if data is None:
            return None
        tensors = _parse_safetensors(data, OPTIMIZER_FILE)
        meta = _safetensors_metadata(data)
        if files[CONFIG_FILE] is not None and "weights_sha256" in meta:
            config = parse_json(files[CONFIG_FILE], CONFIG_FILE)
            if isinstance(config, dict) and config.get("weights_sha256") != meta["weights_sha256"]:
                raise ValueError(f"{OPTIMIZER_FILE} and {WEIGHTS_FILE} come from different saves")
        try:
            groups = json.loads(meta["param_groups"])
        except (KeyError, json.JSONDecodeError):
            raise ValueError(f"{OPTIMIZER_FILE}: metadata 'param_groups' is missing or not JSON") from None
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) and all(_is_int(i) for i in g["params"])
            for g in groups
        ):
            raise ValueError(f"{OPTIMIZER_FILE}: 'param_groups' must be a list of objects with integer 'params'")
        for group in groups:
            if isinstance(group.get("betas"), list):
                group["betas"] = tuple(group["betas"])  # torch writes a tuple; JSON only has lists
        known = {i for g in groups for i in g["params"]}
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, tensor in tensors.items():
            parts = name.split(".", 2)
            if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit() or int(parts[1]) not in known:
                raise ValueError(f"{OPTIMIZER_FILE}: unexpected tensor '{name}'")
            state.setdefault(int(parts[1]), {})[parts[2]] = tensor
        return {"state": state, "param_groups": groups}
    except ValueError as e:
        raise _with_run_name(run_dir, e) from e


# ---------------------------------------------------------------- atomic save


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


def _existing_created(run_dir: Path) -> str | None:
    """Keep a run's creation time when it is saved again (each epoch, or on resume)."""
    try:
        created = json.loads((run_dir / CONFIG_FILE).read_bytes()).get("created")
    except (OSError, ValueError, AttributeError):
        return None
    return created if isinstance(created, str) and _parse_created(created) else None


def save_run(
    run_dir: str | Path,
    model: VAE | AE,
    *,
    train_config: TrainConfig | None,
    dataset_info: dict,
    metrics: dict,
    optimizer_state: dict | None = None,
    name: str | None = None,
) -> Path:
    """Write a run folder atomically (previous complete version or new one, never a mix); returns its path."""
    run_dir = Path(run_dir)
    if sanitize_run_name(run_dir.name) != run_dir.name:
        raise ValueError(f"run folder name {run_dir.name!r} is not a valid run name; try {sanitize_run_name(run_dir.name)!r}")
    if train_config is not None and not isinstance(train_config, TrainConfig):
        raise TypeError(f"train_config: expected TrainConfig or None, got {type(train_config).__name__}")
    model_config: ModelConfig = model.config
    dataset = validate_dataset_info(dict(dataset_info), model_config.image_shape, where="dataset_info")
    validate_metrics(metrics, "metrics")
    try:
        metrics_bytes = json.dumps(metrics).encode()
    except (TypeError, ValueError) as e:
        raise ValueError(f"metrics: not JSON-serialisable ({e})") from None

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = safetensors.torch.save(state, metadata={"format": "pt"})
    if len(weights) > MAX_WEIGHTS_BYTES:
        raise ValueError(f"model is {len(weights) / MB:.0f} MB, over the {MAX_WEIGHTS_BYTES / MB:.0f} MB limit for a run")
    weights_sha = sha256_hex(weights)
    config = {
        "format_version": FORMAT_VERSION,
        "name": run_dir.name if name is None else name,
        "created": _existing_created(run_dir) or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_config.to_dict(),
        "train": None if train_config is None else train_config.to_dict(),
        "dataset": dataset,
        "weights_sha256": weights_sha,
    }
    validate_run_config(config)
    files = {
        CONFIG_FILE: (json.dumps(config, indent=2) + "\n").encode(),
        WEIGHTS_FILE: weights,
        METRICS_FILE: metrics_bytes,
    }
    if optimizer_state is not None:
        files[OPTIMIZER_FILE] = _optimizer_to_bytes(optimizer_state, weights_sha)
    install_run_folder(run_dir, files)
    return run_dir
