"""The sidebar every page shows: model picker, run upload, the model's dataset, and the page's help."""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from explorer import state
from explorer.markdown_text import markdown_text
from vae_core.runs.upload import PICKLE_SUFFIXES, import_uploaded_run

PICKER_KEY = "sidebar_model_picker"
UPLOAD_ERROR_KEY = "upload_error"
UPLOAD_MESSAGE_KEY = "upload_message"
UPLOADER_COUNTER_KEY = "sidebar_uploader_counter"
DRAWN_KEY = "sidebar_drawn"
GENERIC_HELP = "Pick a model above; every page shows the selected model and the dataset it was trained on."


def handle_upload(files: dict[str, bytes]) -> Path | None:
    """Install an uploaded run ({file name: bytes}) and select it; on a bad upload keep the old model.

    The outcome is left in st.session_state: "upload_error" (the message) or "upload_message".
    Returns the new run folder, or None when the upload was refused.
    """
    st.session_state.pop(UPLOAD_ERROR_KEY, None)
    st.session_state.pop(UPLOAD_MESSAGE_KEY, None)
    try:
        run_dir = import_uploaded_run(files, state.runs_dir())
        state.load_selected_run(run_dir)  # fails here rather than on the next page
    except ValueError as e:
        st.session_state[UPLOAD_ERROR_KEY] = str(e)
        return None
    except OSError as e:  # a full disk or an unwritable runs folder is not the user's file's fault
        st.session_state[UPLOAD_ERROR_KEY] = f"upload: the run could not be saved in {state.runs_dir()} ({e.strerror})"
        return None
    st.session_state[state.MODEL_PATH_KEY] = str(run_dir)
    st.session_state[UPLOAD_MESSAGE_KEY] = f"Uploaded and selected {run_dir.name!r}."
    return run_dir


def _uploader_key() -> str:
    return f"sidebar_uploader_{st.session_state.get(UPLOADER_COUNTER_KEY, 0)}"


def _on_upload() -> None:
    uploaded = st.session_state.get(_uploader_key()) or []
    if not uploaded:  # the files were removed: the old message no longer applies
        st.session_state.pop(UPLOAD_ERROR_KEY, None)
        return
    if handle_upload({f.name: f.getvalue() for f in uploaded}) is not None:
        # A fresh uploader key empties the widget, so the same files are not installed twice.
        st.session_state[UPLOADER_COUNTER_KEY] = st.session_state.get(UPLOADER_COUNTER_KEY, 0) + 1


def _on_pick() -> None:
    st.session_state[state.MODEL_PATH_KEY] = st.session_state[PICKER_KEY]


def _model_picker() -> None:
    choices = state.model_choices()
    usable = [s for s in choices if s.error is None]
    broken = [s for s in choices if s.error is not None]
    paths = [str(s.path) for s in usable]
    if st.session_state.get(state.MODEL_PATH_KEY) not in paths:
        st.session_state[state.MODEL_PATH_KEY] = paths[0] if paths else None
    if not paths:
        st.info("No model yet: train one on the Train page, or upload a run below.")
    else:
        labels = {str(s.path): s.label for s in usable}
        # The picker's own key is synced from model_path every run, so a selection made elsewhere
        # (an upload, the Train page) shows here, and page switches never lose it.
        st.session_state[PICKER_KEY] = st.session_state[state.MODEL_PATH_KEY]
        st.selectbox(
            "Model",
            paths,
            key=PICKER_KEY,
            format_func=lambda p: labels.get(p, p),
            on_change=_on_pick,
            help="name · dataset · latent dim d · test −ELBO in nats per image (lower is better); "
            "an AE shows its reconstruction term instead, since it has no ELBO.",
        )
        # The select box cuts a long label to its width; the loaded model is spelled out whole below it.
        selected = labels.get(st.session_state[PICKER_KEY], "")
        st.caption(f"Loaded: **{markdown_text(selected)}**")
    if broken:
        with st.expander(f"{len(broken)} run(s) cannot be loaded"):
            for s in broken:
                # Folder names and errors quoting a config.json anyone may upload: shown as text.
                st.markdown(f"**{markdown_text(s.name)}**: {markdown_text(s.error)}")


def _upload() -> None:
    with st.expander("Upload a run"):
        st.file_uploader(
            "config.json + model.safetensors, or one .zip of them",
            # Pickle suffixes are accepted only to be refused with advice: a browser filter would hide them silently.
            type=["json", "safetensors", "zip", *(suffix.lstrip(".") for suffix in PICKLE_SUFFIXES)],
            accept_multiple_files=True,
            key=_uploader_key(),
            on_change=_on_upload,
            help="Runs are saved as safetensors + JSON; pickle files (.pt, .pth, .ckpt) are refused for safety.",
        )
    if st.session_state.get(UPLOAD_ERROR_KEY):
        st.error(st.session_state[UPLOAD_ERROR_KEY])
    elif st.session_state.get(UPLOAD_MESSAGE_KEY):
        st.success(st.session_state[UPLOAD_MESSAGE_KEY])


def _dataset_summary() -> None:
    try:
        run = state.current_run()
        dataset, note = state.dataset_for(run)
    except ValueError as e:
        st.error(str(e))
        return
    c, h, w = dataset.image_shape
    config = run.model_config
    kind = ("conditional VAE (label y given to encoder and decoder)" if config.is_conditional
            else "VAE" if config.is_variational else "AE")  # fmt: skip
    st.markdown(
        f"**Model:** {kind}, {config.arch}, latent dim d = {config.latent_dim}, {config.likelihood} likelihood  \n"
        f"**Dataset:** `{dataset.spec}` · {len(dataset.train_x):,} train + {len(dataset.test_x):,} test images · "
        f"{c}×{h}×{w}  \n"
        f"**Classes:** {markdown_text(', '.join(dataset.class_names)) if dataset.has_labels else 'unlabelled'}"
    )
    if note:
        st.warning(note, icon=":material/warning:")


# The sidebar spot for the dataset summary, filled by finish_sidebar after the page. Each session's
# script runs in its own thread, so a thread-local keeps sessions apart.
_slot = threading.local()


def render_sidebar(help_text: str) -> None:
    """Draw the sidebar; call it first on every page, with that page's "What am I looking at?" text.

    The dataset summary is only reserved here and filled after the page (finish_sidebar): loading a
    dataset takes seconds on a cold start, and the page's first image should not wait for it.
    """
    st.session_state[DRAWN_KEY] = True
    with st.sidebar:
        _model_picker()
        _upload()
        _slot.dataset = st.empty()
        with st.expander("What am I looking at?"):
            st.markdown(help_text)


def begin_page() -> None:
    """Called by app.py before each page runs, so the page's render_sidebar draws afresh."""
    st.session_state[DRAWN_KEY] = False


def finish_sidebar() -> None:
    """Called by app.py after the page: draw the sidebar if the page did not, then the dataset summary."""
    if not st.session_state.get(DRAWN_KEY):
        render_sidebar(GENERIC_HELP)
    slot = getattr(_slot, "dataset", None)
    _slot.dataset = None
    if slot is not None:
        with slot.container():
            _dataset_summary()
