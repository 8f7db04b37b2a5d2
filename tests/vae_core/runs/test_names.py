"""Run names: what the sanitizer accepts, refuses, and how names stay unique in a runs folder."""
from pathlib import Path

import pytest

from vae_core.runs.names import MAX_NAME_LENGTH, run_dir_for, sanitize_run_name, unique_run_name


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("mnist-vae", "mnist-vae"),
        ("  padded  ", "padded"),
        ("my first run", "my-first-run"),
        ("beta_4.0", "beta_4.0"),
        ("a" * MAX_NAME_LENGTH, "a" * MAX_NAME_LENGTH),
    ],
)
def test_sanitize_accepts_and_cleans(raw, clean):
    assert sanitize_run_name(raw) == clean


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("../x", "'..'"),
        ("..", "'..'"),
        ("/etc", "'/'"),
        ("a/b", "'/'"),
        ("a\\b", "'\\'"),
        ("C:evil", "':'"),
        ("tab\there", "control character"),
        ("new\nline", "control character"),
        ("nul\x00byte", "control character"),
        ("", "empty"),
        ("   ", "empty"),
        ("a" * (MAX_NAME_LENGTH + 1), f"at most {MAX_NAME_LENGTH}"),
        (".hidden", "start with '.'"),
        ("ends.", "end with '.'"),
        ("naïve", "'ï'"),
        ("CON", "Windows"),
    ],
)
def test_sanitize_refuses_with_telling_message(raw, fragment):
    with pytest.raises(ValueError) as info:
        sanitize_run_name(raw)
    assert fragment in str(info.value)


def test_refusals_say_what_is_allowed():
    with pytest.raises(ValueError, match="letters.*digits.*'-', '_' and '.'"):
        sanitize_run_name("a/b")


def test_run_dir_for_is_directly_inside_root(tmp_path):
    assert run_dir_for(tmp_path, " my run ") == tmp_path / "my-run"
    with pytest.raises(ValueError):
        run_dir_for(tmp_path, "../outside")


def test_run_dir_for_refuses_symlink_leading_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "runs"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="not directly inside"):
        run_dir_for(root, "link")


def test_unique_run_name_appends_counter(tmp_path):
    assert unique_run_name(tmp_path, "run") == "run"
    (tmp_path / "run").mkdir()
    assert unique_run_name(tmp_path, "run") == "run-2"
    (tmp_path / "run-2").mkdir()
    assert unique_run_name(tmp_path, "run") == "run-3"
    assert unique_run_name(tmp_path / "missing-root", "run") == "run"


def test_unique_run_name_counts_a_half_saved_run_as_taken(tmp_path):
    (tmp_path / ".run.old-0123abcd").mkdir()
    assert unique_run_name(tmp_path, "run") == "run-2"


def test_unique_run_name_stays_within_length(tmp_path):
    long = "x" * MAX_NAME_LENGTH
    (tmp_path / long).mkdir()
    name = unique_run_name(tmp_path, long)
    assert name.endswith("-2") and len(name) == MAX_NAME_LENGTH
    assert Path(tmp_path / name).parent == tmp_path
