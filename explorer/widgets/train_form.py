"""The Train page's form: data, model, objective and optimisation settings, checked by vae_core's configs.

A refused value is shown under its field: vae_core raises a ConfigError that names the config field
(`err.field`), and FORM_FIELD_OF says which form field shows it.
"""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.widgets.your_jobs import VIEWED_KEY
from vae_core.data import parse_spec
from vae_core.data.spec import DOWNLOADED
from vae_core.fields import ConfigError, parse_int_list
from vae_core.models import ModelConfig
from vae_core.models.config import ARCHS, CONDITIONAL_KINDS, LIKELIHOODS, MAX_LATENT_DIM
from vae_core.runs.names import sanitize_run_name, unique_run_name
from vae_core.training.config import TrainConfig

# Image shapes of the offline and torchvision sets, so the form can check an architecture without loading data.
DATASETS = {
    "mnist5k": (1, 28, 28),
    "digits": (1, 8, 8),
    "shapes": (1, 32, 32),
    "shapes:64": (1, 64, 64),
    "mnist": (1, 28, 28),
    "fashion-mnist": (1, 28, 28),
    "kmnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
}
# Labels a conditional VAE conditions on, per dataset (the form builds its config before loading data).
CLASS_COUNTS = {"shapes": 3, "shapes:64": 3}
DEFAULT_CLASS_COUNT = 10
ERRORS_KEY = "train_form_errors"  # {form field: message} for the values the form holds now
REFUSED_KEY = "train_start_refused"  # Start was pressed while a field was refused: nothing started
AUTO_NAME_KEY = "train_auto_name"  # the name the form suggested last; a run name equal to it was not typed
# The form fields that show a message under them.
FORM_FIELDS = ("dataset", "kind", "arch", "layers", "latent_dim", "likelihood", "c", "beta", "warmup_epochs",
               "epochs", "batch_size", "lr", "seed", "run_name")  # fmt: skip
# The form field that shows a ConfigError about a config field; every other field has the config's name.
FORM_FIELD_OF = {"hidden_sizes": "layers", "conv_channels": "layers", "image_shape": "arch", "num_classes": "kind",
                 "name": "run_name"}  # fmt: skip
DEFAULTS = {
    "train_dataset": "digits", "train_kind": "VAE", "train_arch": "mlp", "train_layers": "512, 256",
    "train_latent_dim": 2, "train_likelihood": "bernoulli", "train_c": 0.1, "train_beta": 1.0,
    "train_warmup_epochs": 0.0, "train_epochs": 10, "train_batch_size": 128, "train_lr": 1e-3, "train_seed": 0,
    "train_run_name": "",
}  # fmt: skip
# Values each config accepts, so one field at a time can be checked on its own (see `field_errors`).
VALID_MODEL = {"kind": "vae", "arch": "mlp", "image_shape": (1, 28, 28), "latent_dim": 2, "likelihood": "bernoulli",
               "c": 0.1, "num_classes": 0, "hidden_sizes": (16,)}  # fmt: skip
VALID_TRAIN = {"epochs": 1, "batch_size": 1, "lr": 1e-3, "beta": 1.0, "warmup_epochs": 0.0, "seed": 0}


# Streamlit drops a widget's value when a run does not draw it (another page); these keep theirs.
PERSIST = "session"


def form_field(err: ValueError, default: str) -> str:
    """The form field a refused value's message goes under: the one its ConfigError names, else `default`."""
    if not isinstance(err, ConfigError):
        return default
    field = FORM_FIELD_OF.get(err.field, err.field)
    return field if field in FORM_FIELDS else default


def form_value(name: str):
    return st.session_state[f"train_{name}"]


def field_errors(config_class, values: dict, valid: dict, default_field: str):
    """(config, {}) when `values` make a config, else (None, {form field: message}) for every refused field.

    A config stops at its first bad field; each field is also tried alone among `valid` values, so that
    every refused field gets its message at once. A refused combination (a conv net on 8×8 images) goes
    under the field the config names."""
    try:
        return config_class(**values), {}
    except ValueError as first:
        errors: dict[str, str] = {}
        for name, value in values.items():
            try:
                config_class(**{**valid, name: value})
            except ValueError as e:
                errors.setdefault(form_field(e, default_field), str(e))
        if not errors:
            errors[form_field(first, default_field)] = str(first)
        return None, errors


def _model_config(spec: str, errors: dict[str, str]) -> ModelConfig | None:
    arch = form_value("arch")
    layer_field, example = ("hidden_sizes", "512, 256") if arch == "mlp" else ("conv_channels", "32, 64")
    try:
        layers = parse_int_list(form_value("layers"), layer_field, example)
    except ValueError as e:
        errors[form_field(e, "layers")] = str(e)
        layers = VALID_MODEL["hidden_sizes"] if arch == "mlp" else (32,)
    kind = form_value("kind").lower()
    values = {
        "kind": kind, "arch": arch, "image_shape": DATASETS.get(spec, (1, 28, 28)), "latent_dim": form_value("latent_dim"),
        "likelihood": form_value("likelihood"), "c": form_value("c"),
        "num_classes": CLASS_COUNTS.get(spec, DEFAULT_CLASS_COUNT) if kind in CONDITIONAL_KINDS else 0,
        layer_field: layers,
    }  # fmt: skip
    valid = {**VALID_MODEL, "arch": arch, layer_field: layers, "hidden_sizes": VALID_MODEL["hidden_sizes"]}
    if kind in CONDITIONAL_KINDS:
        valid.update(kind=kind, num_classes=values["num_classes"])
    config, refused = field_errors(ModelConfig, values, valid, "arch")
    for field, message in refused.items():
        errors.setdefault(field, message)
    return config


def _train_config(errors: dict[str, str]) -> TrainConfig | None:
    values = {name: form_value(name) for name in VALID_TRAIN}
    config, refused = field_errors(TrainConfig, values, VALID_TRAIN, "epochs")
    for field, message in refused.items():
        errors.setdefault(field, message)
    return config


def _run_name(errors: dict[str, str]) -> str | None:
    try:
        name = sanitize_run_name(form_value("run_name"))
    except ValueError as e:
        errors[form_field(e, "run_name")] = str(e)
        return None
    if unique_run_name(state.runs_dir(), name) != name or name in _names_of_jobs():
        errors["run_name"] = f"run name: {name!r} is taken by a saved run or a job; pick another"
        return None
    return name


def build_configs() -> tuple[dict[str, str], tuple | None]:
    """({field: message}, (model_config, train_config, dataset_spec, run_name) or None) from the form's values."""
    errors: dict[str, str] = {}
    spec = form_value("dataset")
    try:
        parse_spec(spec)
    except ValueError as e:
        errors[form_field(e, "dataset")] = str(e)
    model_config, train_config, name = _model_config(spec, errors), _train_config(errors), _run_name(errors)
    if errors:
        return errors, None
    return errors, (model_config, train_config, spec, name)


def on_start(owner: str) -> None:
    """The Start button's callback: a job for `owner` (the browser's token) when every field is accepted."""
    errors, configs = build_configs()
    if configs is not None:
        try:
            job_id = state.job_manager().submit(*configs, owner=owner)
        except ValueError as e:  # e.g. another user claimed the name a moment ago
            errors[form_field(e, "run_name")] = str(e)
        else:
            st.session_state[VIEWED_KEY] = job_id
            # The next run's name is suggested afresh, so pressing Start again does not collide with this one.
            st.session_state["train_run_name"] = ""
    st.session_state[ERRORS_KEY] = errors
    st.session_state[REFUSED_KEY] = bool(errors)


def _names_of_jobs() -> set[str]:
    manager = state.job_manager()
    return {v.name for v in (manager.view(i) for i in manager.job_ids()) if v is not None and not v.done}


def suggested_name() -> str:
    """kind-arch-{d}d-dataset from the form's values now, made unique among saved runs and running jobs."""
    kind = str(st.session_state.get("train_kind", "VAE")).lower()
    arch = st.session_state.get("train_arch", "mlp")
    d = st.session_state.get("train_latent_dim", 2)
    spec = str(st.session_state.get("train_dataset", "digits")).replace(":", "-")
    base = sanitize_run_name(f"{kind}-{arch}-{d}d-{spec}")
    taken = _names_of_jobs()
    name = unique_run_name(state.runs_dir(), base)
    n = 2
    while name in taken:
        name = unique_run_name(state.runs_dir(), f"{base}-{n}")
        n += 1
    return name


def _follow_settings_with_name() -> None:
    """The suggested run name follows the settings; a name the user typed stays."""
    try:
        suggestion = suggested_name()
    except ValueError:
        return  # a value the name cannot hold; its own field says what is wrong
    if st.session_state.get("train_run_name", "") in ("", st.session_state.get(AUTO_NAME_KEY)):
        st.session_state["train_run_name"] = suggestion
    st.session_state[AUTO_NAME_KEY] = suggestion


LABELS = {"dataset": "Dataset", "kind": "Model", "arch": "Architecture", "layers": "Layer sizes",
          "latent_dim": "Latent dimension d", "likelihood": "Likelihood", "c": "Decoder variance c", "beta": "β",
          "warmup_epochs": "KL warm-up epochs", "epochs": "Epochs", "batch_size": "Batch size", "lr": "Learning rate",
          "seed": "Seed", "run_name": "Run name"}  # fmt: skip


def field_error(name: str) -> None:
    message = st.session_state.get(ERRORS_KEY, {}).get(name)
    if message:
        st.error(message)


def _data_and_model() -> None:
    st.markdown("**Data and model**")
    st.selectbox("Dataset", list(DATASETS), key="train_dataset", persist_state=PERSIST,
                 help="mnist5k, digits and shapes work offline; the others are downloaded on first use.")
    field_error("dataset")
    st.radio("Model", ["VAE", "AE", "CVAE"], horizontal=True, key="train_kind", persist_state=PERSIST,
             help="A VAE learns a distribution q(z|x) with a prior; an AE learns a single point per image; "
                  "a CVAE (conditional VAE) also gives the label y to the encoder and the decoder.")
    field_error("kind")
    st.selectbox("Architecture", ARCHS, key="train_arch", persist_state=PERSIST,
                 help="conv needs square images of 28, 32 or 64 pixels (not digits' 8×8).")
    field_error("arch")
    st.text_input("Layer sizes (hidden sizes for mlp, channels for conv)", key="train_layers", persist_state=PERSIST,
                  help="e.g. 512, 256 for mlp or 32, 64 for conv")
    field_error("layers")
    st.number_input("Latent dimension d", step=1, key="train_latent_dim", persist_state=PERSIST, help=f"1 to {MAX_LATENT_DIM}")
    field_error("latent_dim")


def _objective() -> None:
    st.markdown("**Likelihood and objective**")
    st.selectbox("Likelihood p(x|z)", LIKELIHOODS, key="train_likelihood", persist_state=PERSIST,
                 help="bernoulli for near-binary images; gaussian N(f(z), c·I) uses the decoder variance c.")
    field_error("likelihood")
    st.number_input("Decoder variance c (Gaussian only)", format="%.4g", key="train_c", persist_state=PERSIST,
                    help="Small c: sharp reconstructions, a weaker prior fit. Large c: blurry, smooth.")
    field_error("c")
    st.number_input("β (weight of the KL term)", step=0.1, key="train_beta", persist_state=PERSIST)
    field_error("beta")
    st.number_input("KL warm-up epochs", step=1.0, key="train_warmup_epochs", persist_state=PERSIST,
                    help="The KL weight rises linearly from 0 to β over this many epochs.")
    field_error("warmup_epochs")


def _optimisation() -> None:
    st.markdown("**Optimisation**")
    st.number_input("Epochs", step=1, key="train_epochs", persist_state=PERSIST)
    field_error("epochs")
    st.number_input("Batch size", step=16, key="train_batch_size", persist_state=PERSIST)
    field_error("batch_size")
    st.number_input("Learning rate", format="%.2e", step=1e-4, key="train_lr", persist_state=PERSIST)
    field_error("lr")
    st.number_input("Seed", step=1, key="train_seed", persist_state=PERSIST)
    field_error("seed")
    st.text_input("Run name", key="train_run_name", persist_state=PERSIST,
                  help="letters, digits, '-', '_' and '.'; it follows the settings until you type one")
    field_error("run_name")


def training_form(owner: str) -> None:
    """The settings and the Start button, for a job owned by `owner` (the browser's token).

    Plain widgets, not an st.form: in a form, Enter in any field submits it, and a job starts only from the
    button. Each value is checked by vae_core's configs as it changes; a refused one shows its message under
    its field, and Start then starts nothing and says so. No number_input has a min_value: the browser would
    clamp a bad value quietly instead of sending it to be refused."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    _follow_settings_with_name()
    errors, _ = build_configs()
    st.session_state[ERRORS_KEY] = errors
    if not errors:
        st.session_state[REFUSED_KEY] = False
    with st.container(border=True):
        left, middle, right = st.columns(3)
        with left:
            _data_and_model()
        with middle:
            _objective()
        with right:
            _optimisation()
        st.button("Start training", type="primary", on_click=on_start, args=(owner,), key="train_start")
        if errors and st.session_state.get(REFUSED_KEY):
            fields = ", ".join(LABELS[f] for f in FORM_FIELDS if f in errors)
            st.error(f"Nothing was started: fix the refused value{'s' if len(errors) > 1 else ''} ({fields}); "
                     "each field's message is under it.")
    if st.session_state.get("train_dataset") in DOWNLOADED:
        st.caption("This dataset is downloaded on first use; without internet access the job fails and says so.")
