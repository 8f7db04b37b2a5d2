"""Run names: what a run folder may be called, and where it lives under a runs root.

A run name uses letters, digits, '-', '_' and '.', at most 64 characters; inner spaces become '-'.
It may not start with '.' (hidden and temporary folders do) and may not contain '..'.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from vae_core.fields import ConfigError

try:  # POSIX: flock locks belong to one open file and vanish when the process dies
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

MAX_NAME_LENGTH = 64
ALLOWED = "letters A–Z a–z, digits 0–9, '-', '_' and '.' (spaces become '-')"
_ALLOWED_RE = re.compile(r"[A-Za-z0-9._-]+")
# Folder names Windows cannot create, whatever the extension.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
# Hidden siblings written by checkpoint.save_run: ".<name>.tmp-<hex>" and ".<name>.old-<hex>".
TEMP_SIBLING_RE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-[0-9a-f]{8,}$")


def sanitize_run_name(name: str) -> str:
    """Return the cleaned run name, or raise ConfigError (field "name") saying what is allowed."""
    if not isinstance(name, str):
        raise ConfigError("name", f"run name: expected text, got {type(name).__name__}")
    cleaned = name.strip()
    if not cleaned:
        raise ConfigError("name", f"run name: empty; use {ALLOWED}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise ConfigError("name", f"run name {name!r}: contains a control character (tab, newline, ...); use {ALLOWED}")
    if ".." in cleaned:
        raise ConfigError("name", f"run name {name!r}: may not contain '..'; use {ALLOWED}")
    if "/" in cleaned or "\\" in cleaned:
        raise ConfigError("name", f"run name {name!r}: may not contain '/' or '\\' (a run is one folder); use {ALLOWED}")
    if cleaned.startswith("."):
        raise ConfigError("name", f"run name {name!r}: may not start with '.' (those folders are hidden); use {ALLOWED}")
    cleaned = re.sub(r" +", "-", cleaned)
    if not _ALLOWED_RE.fullmatch(cleaned):
        bad = sorted({ch for ch in cleaned if not _ALLOWED_RE.fullmatch(ch)})
        raise ConfigError("name", f"run name {name!r}: character(s) {''.join(bad)!r} not allowed; use {ALLOWED}")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ConfigError("name", f"run name {name!r}: {len(cleaned)} characters, at most {MAX_NAME_LENGTH} allowed")
    if cleaned.endswith("."):
        raise ConfigError("name", f"run name {name!r}: may not end with '.'; use {ALLOWED}")
    if cleaned.split(".")[0].upper() in _WINDOWS_RESERVED:
        raise ConfigError("name", f"run name {name!r}: reserved by Windows; pick another name")
    return cleaned


def run_dir_for(root: str | Path, name: str) -> Path:
    """The folder of run `name` directly inside `root` (the name is sanitized first)."""
    root = Path(root)
    path = root / sanitize_run_name(name)
    # Guards against a symlink inside root pointing elsewhere, not only against odd names.
    if path.resolve().parent != root.resolve():
        raise ConfigError("name", f"run name {name!r}: resolves to {path.resolve()}, which is not directly inside {root}")
    return path


def run_name_taken(root: str | Path, name: str) -> bool:
    """True when `name` is a run folder in `root`, one half-way through being saved, or claimed by a session."""
    return _on_disk(root, name) or _claimed(root, name)


def _on_disk(root: str | Path, name: str) -> bool:
    root = Path(root)
    if (root / name).exists() or (root / name).is_symlink():
        return True
    if not root.is_dir():
        return False
    return any(
        (m := TEMP_SIBLING_RE.match(entry.name)) and m["name"] == name for entry in root.iterdir()
    )


def unique_run_name(root: str | Path, base: str) -> str:
    """`base` sanitized, or `base-2`, `base-3`, ... : the first not taken in `root`."""
    base = sanitize_run_name(base)
    if not run_name_taken(root, base):
        return base
    for i in range(2, 100_000):
        suffix = f"-{i}"
        candidate = sanitize_run_name(base[: MAX_NAME_LENGTH - len(suffix)].rstrip(".") + suffix)
        if not run_name_taken(root, candidate):
            return candidate
    raise ConfigError("name", f"run name {base!r}: no free variant left in {root}")


# ---------------------------------------------------------------- claiming a name
#
# Checking "is the name free?" and then creating the folder is a race: two sessions can both see
# the name free, train, and the later save replaces the earlier run. So a session claims a name first:
# it holds an exclusive lock on `<root>/.<name>.lock` from the moment it picks the name until its run
# is saved. The OS drops the lock when the process dies, so a killed session leaves no stale claim.

CLAIM_WAIT_S = 0.2  # run_name_taken probes a claim by locking it for microseconds; a claimant waits that out


class RunNameTaken(ConfigError):
    """The name is claimed by another training session, or a run of that name exists."""

    def __init__(self, message: str):
        super().__init__("name", message)


def _lock_path(root: Path, name: str) -> Path:
    return root / f".{name}.lock"


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _lock(path: Path, wait_s: float) -> int | None:
    """An fd holding the exclusive lock on `path`, or None when another holder keeps it past `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if _try_lock(fd):
            if _same_file(fd, path):
                return fd
            os.close(fd)  # the previous holder deleted the file after we opened it: lock the new one
            continue
        os.close(fd)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def _claimed(root: str | Path, name: str) -> bool:
    """True while some session holds the claim on `name` (probed by locking and unlocking at once)."""
    try:
        fd = os.open(_lock_path(Path(root), name), os.O_RDWR)
    except OSError:
        return False
    try:
        if _try_lock(fd):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


class RunNameClaim:
    """An exclusive hold on one run name in a runs folder, until `release()` or the process ends."""

    def __init__(self, root: Path, name: str, fd: int):
        self.root = root
        self.name = name
        self.run_dir = root / name
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the name back; calling it again does nothing."""
        if self._fd is None:
            return
        if os.name == "posix":
            # Delete while still holding the lock: a claimant that opened the old file notices (_same_file).
            try:
                os.unlink(_lock_path(self.root, self.name))
            except FileNotFoundError:
                pass
        os.close(self._fd)  # Windows cannot delete an open file; the unlocked file stays, harmless
        self._fd = None

    def __enter__(self) -> "RunNameClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_run_name(root: str | Path, name: str, *, new: bool = True, wait_s: float = CLAIM_WAIT_S) -> RunNameClaim:
    """Claim `name` in `root` for one training session; with `new`, no run of that name may exist yet.

    Raises RunNameTaken (a ValueError naming 'run name') when another session holds the name or,
    with `new`, when the run already exists."""
    run_dir = run_dir_for(root, name)
    root, name = run_dir.parent, run_dir.name
    root.mkdir(parents=True, exist_ok=True)
    fd = _lock(_lock_path(root, name), wait_s)
    if fd is None:
        raise RunNameTaken(f"run name {name!r}: a run with this name is being trained right now; pick another name")
    claim = RunNameClaim(root, name, fd)
    if new and _on_disk(root, name):
        claim.release()
        raise RunNameTaken(f"run name {name!r}: a run with this name already exists in {root}; pick another name")
    return claim


def claim_unique_run_name(root: str | Path, base: str) -> RunNameClaim:
    """Claim `base`, or `base-2`, `base-3`, ...: the first name no run and no session has."""
    for _ in range(100):
        try:
            return claim_run_name(root, unique_run_name(root, base), wait_s=0.0)
        except RunNameTaken:
            continue  # another session claimed it between the check and the claim; take the next
    raise RunNameTaken(f"run name {base!r}: could not claim a free variant in {root}; try again")
