"""Text a user controls (an uploaded run's config.json, its file names) is shown as text, never as markup.

Every student sees the runs another student uploaded, so a dataset spec or an error quoting a
config.json must not draw an image from elsewhere, a link or HTML in anyone's sidebar.
"""
import io
import json
import re
import zipfile

from streamlit.testing.v1 import AppTest

from explorer.markdown_text import markdown_text
from vae_core.runs.upload import import_uploaded_run

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE = "<img src=x onerror=alert(1)> ![pixel](https://example.invalid/p.png) [link](javascript:alert(1)) $x$ :red[red] `code`"
MARKUP = re.compile(r"[<>\[\]()!`$:]")


def shown(markdown: str) -> str:
    """What a reader sees: CommonMark turns each backslash-escaped character back into itself."""
    return re.sub(r"\\(.)", r"\1", markdown)


def unescaped(markdown: str) -> str:
    """The characters markdown would still act on."""
    return re.sub(r"\\.", "", markdown)


def sidebar_page():
    from explorer.sidebar import begin_page, finish_sidebar, render_sidebar

    begin_page()
    render_sidebar("help for this page")
    finish_sidebar()


def run_files(folder, **config_changes):
    files = {name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors")}
    config = json.loads(files["config.json"])
    config.update(config_changes)
    files["config.json"] = json.dumps(config).encode()
    return files


def test_markdown_text_escapes_every_inline_construct_and_keeps_the_characters():
    escaped = markdown_text(HOSTILE + "\n# not a heading")
    assert shown(escaped) == HOSTILE + " # not a heading"
    assert not MARKUP.search(unescaped(escaped))
    assert markdown_text("vae-mlp-2d-digits, 0, 1, 2") == "vae-mlp-2d-digits, 0, 1, 2"


def test_an_uploaded_runs_hostile_dataset_spec_is_shown_as_text(tiny_model_dirs, tiny_runs_dir, tmp_path, monkeypatch):
    default = tiny_model_dirs[0] / "vae-mlp-2d-digits"
    config = json.loads((default / "config.json").read_text())
    hostile = run_files(default, dataset={**config["dataset"], "spec": HOSTILE})
    run_dir = import_uploaded_run(hostile, tmp_path)
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    at = AppTest.from_function(sidebar_page, default_timeout=60)
    at.session_state["model_path"] = str(run_dir)
    at.run()
    assert not at.exception
    # The spec cannot be loaded, so the sidebar says so (with the stand-in dataset) and quotes it.
    notes = [w.value for w in at.sidebar.warning if "cannot be loaded here" in w.value]
    assert notes, [w.value for w in at.sidebar.warning]
    assert repr(HOSTILE) in shown(notes[0])
    assert not MARKUP.search(unescaped(notes[0]).replace("(", "").replace(")", "")), notes[0]
    assert not re.search(r"!\[|\]\(|<img", unescaped(notes[0]))


def test_a_broken_run_quoting_html_is_listed_as_text(tiny_model_dirs, tiny_runs_dir, tmp_path, monkeypatch):
    config = json.loads((tiny_model_dirs[0] / "vae-mlp-2d-digits" / "config.json").read_text())
    config["model"]["arch"] = HOSTILE  # refused, and the error quotes it
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path))
    at = AppTest.from_function(sidebar_page, default_timeout=60).run()
    assert not at.exception
    listed = [m.value for m in at.sidebar.markdown if "broken" in m.value]
    assert listed and "img src=x" in shown(listed[0]), listed
    assert not re.search(r"!\[|\]\(|<img|\$x\$", unescaped(listed[0])), listed[0]


def test_an_upload_named_like_html_gets_a_plain_run_name(tiny_model_dirs, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in run_files(tiny_model_dirs[0] / "vae-mlp-2d-digits", name=HOSTILE_NAME).items():
            archive.writestr(f"{HOSTILE_NAME}/{name}", data)
    run_dir = import_uploaded_run({f"{HOSTILE_NAME}.zip": buffer.getvalue()}, tmp_path)
    assert run_dir.name == "uploaded-run"


def test_an_uploaded_run_cannot_make_the_server_read_files_outside_the_data_folder(
        tiny_model_dirs, tiny_runs_dir, tmp_path, monkeypatch):  # fmt: skip
    import numpy as np

    secret = tmp_path / "outside" / "secret.npz"  # a readable npz the server's user owns
    secret.parent.mkdir()
    np.savez(secret, x=np.zeros((4, 8, 8), dtype=np.float32), y=np.zeros(4, dtype=np.int64))
    default = tiny_model_dirs[0] / "vae-mlp-2d-digits"
    config = json.loads((default / "config.json").read_text())
    for spec in (f"npz:{secret}", f"npz:data/../{secret.relative_to(tmp_path)}", f"folder:{secret.parent}"):
        runs = tmp_path / f"runs-{abs(hash(spec))}"
        run_dir = import_uploaded_run(run_files(default, dataset={**config["dataset"], "spec": spec}), runs)
        monkeypatch.setenv("VAE_RUNS_DIR", str(runs))
        monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "data"))
        at = AppTest.from_function(sidebar_page, default_timeout=60)
        at.session_state["model_path"] = str(run_dir)
        at.run()
        assert not at.exception
        notes = [shown(w.value) for w in at.sidebar.warning if "cannot be loaded here" in w.value]
        assert notes and "reads dataset files only inside" in notes[0], [w.value for w in at.sidebar.warning]
        assert "8×8" in " ".join(m.value for m in at.sidebar.markdown)  # the digits stand-in is shown instead
