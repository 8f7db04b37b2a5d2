"""The Train page's form: data, model, objective and optimisation settings, checked by vae_core's configs.

A refused value is shown under its field: vae_core raises a ConfigError that names the config field
(`err.field`), and FORM_FIELD_OF says which form field shows it.
"""
from __future__ import annotations

import streamlit as st

from explorer import state
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
JOB_IDS_KEY = "train_job_ids"
ERRORS_KEY = "train_form_errors"
VIEWED_KEY = "train_viewed_job"
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
}  # fmt: skip


def form_field(err: ValueError, default: str) -> str:
    """The form field a refused value's message goes under: the one its ConfigError names, else `default`."""
    if not isinstance(err, ConfigError):
        return default
    field = FORM_FIELD_OF.get(err.field, err.field)
    return field if field in FORM_FIELDS else default


def form_value(name: str):
    return st.session_state[f"train_{name}"]


def _model_config(spec: str, errors: dict[str, str]) -> ModelConfig | None:
    arch = form_value("arch")
    layer_field, example = ("hidden_sizes", "512, 256") if arch == "mlp" else ("conv_channels", "32, 64")
    try:
        layers = parse_int_list(form_value("layers"), layer_field, example)
        kind = form_value("kind").lower()
        return ModelConfig(
            kind=kind, arch=arch, image_shape=DATASETS.get(spec, (1, 28, 28)), latent_dim=int(form_value("latent_dim")),
            likelihood=form_value("likelihood"), c=float(form_value("c")),
            num_classes=CLASS_COUNTS.get(spec, DEFAULT_CLASS_COUNT) if kind in CONDITIONAL_KINDS else 0,
            **{layer_field: layers},
        )  # fmt: skip
    except ValueError as e:
        errors.setdefault(form_field(e, "arch"), str(e))
        return None


def _train_config(errors: dict[str, str]) -> TrainConfig | None:
    try:
        return TrainConfig(
            epochs=int(form_value("epochs")), batch_size=int(form_value("batch_size")), lr=float(form_value("lr")),
            beta=float(form_value("beta")), warmup_epochs=float(form_value("warmup_epochs")),
            seed=int(form_value("seed")),
        )  # fmt: skip
    except ValueError as e:
        errors.setdefault(form_field(e, "epochs"), str(e))
        return None


def build_configs() -> tuple[dict[str, str], tuple | None]:
    """({field: message}, (model_config, train_config, dataset_spec, run_name) or None) from the form's values."""
    errors: dict[str, str] = {}
    spec = form_value("dataset")
    try:
        parse_spec(spec)
    except ValueError as e:
        errors[form_field(e, "dataset")] = str(e)
    model_config, train_config = _model_config(spec, errors), _train_config(errors)
    try:
        name = sanitize_run_name(form_value("run_name"))
    except ValueError as e:
        errors[form_field(e, "run_name")] = str(e)
    if errors:
        return errors, None
    return errors, (model_config, train_config, spec, name)


def on_start() -> None:
    errors, configs = build_configs()
    if configs is not None:
        try:
            job_id = state.job_manager().submit(*configs)
        except ValueError as e:
            errors[form_field(e, "run_name")] = str(e)
        else:
            st.session_state.setdefault(JOB_IDS_KEY, []).append(job_id)
            st.session_state[VIEWED_KEY] = job_id
            # A fresh suggested name, so pressing Start again does not collide with this run.
            st.session_state["train_run_name"] = suggested_name()
    st.session_state[ERRORS_KEY] = errors


def suggested_name() -> str:
    kind = st.session_state.get("train_kind", "VAE").lower()
    arch = st.session_state.get("train_arch", "mlp")
    d = st.session_state.get("train_latent_dim", 2)
    spec = str(st.session_state.get("train_dataset", "digits")).replace(":", "-")
    base = f"{kind}-{arch}-{d}d-{spec}"
    manager = state.job_manager()
    taken = {v.name for v in (manager.view(i) for i in manager.job_ids()) if v is not None}
    name = unique_run_name(state.runs_dir(), base)
    n = 2
    while name in taken:
        name = unique_run_name(state.runs_dir(), f"{base}-{n}")
        n += 1
    return name


def field_error(name: str) -> None:
    message = st.session_state.get(ERRORS_KEY, {}).get(name)
    if message:
        st.error(message)


def _data_and_model() -> None:
    st.markdown("**Data and model**")
    st.selectbox("Dataset", list(DATASETS), key="train_dataset",
                 help="mnist5k, digits and shapes work offline; the others are downloaded on first use.")
    field_error("dataset")
    st.radio("Model", ["VAE", "AE", "CVAE"], horizontal=True, key="train_kind",
             help="A VAE learns a distribution q(z|x) with a prior; an AE learns a single point per image; "
                  "a CVAE (conditional VAE) also gives the label y to the encoder and the decoder.")
    field_error("kind")
    st.selectbox("Architecture", ARCHS, key="train_arch",
                 help="conv needs square images of 28, 32 or 64 pixels (not digits' 8×8).")
    field_error("arch")
    st.text_input("Layer sizes (hidden sizes for mlp, channels for conv)", key="train_layers",
                  help="e.g. 512, 256 for mlp or 32, 64 for conv")
    field_error("layers")
    st.number_input("Latent dimension d", min_value=1, max_value=MAX_LATENT_DIM, step=1, key="train_latent_dim")
    field_error("latent_dim")


def _objective() -> None:
    st.markdown("**Likelihood and objective**")
    st.selectbox("Likelihood p(x|z)", LIKELIHOODS, key="train_likelihood",
                 help="bernoulli for near-binary images; gaussian N(f(z), c·I) uses the decoder variance c.")
    field_error("likelihood")
    st.number_input("Decoder variance c (Gaussian only)", min_value=0.0, format="%.4g", key="train_c",
                    help="Small c: sharp reconstructions, a weaker prior fit. Large c: blurry, smooth.")
    field_error("c")
    st.number_input("β (weight of the KL term)", min_value=0.0, step=0.1, key="train_beta")
    field_error("beta")
    st.number_input("KL warm-up epochs", min_value=0.0, step=1.0, key="train_warmup_epochs",
                    help="The KL weight rises linearly from 0 to β over this many epochs.")
    field_error("warmup_epochs")


def _optimisation() -> None:
    st.markdown("**Optimisation**")
    st.number_input("Epochs", min_value=1, step=1, key="train_epochs")
    field_error("epochs")
    st.number_input("Batch size", min_value=1, step=16, key="train_batch_size")
    field_error("batch_size")
    st.number_input("Learning rate", min_value=0.0, format="%.2e", step=1e-4, key="train_lr")
    field_error("lr")
    st.number_input("Seed", min_value=0, step=1, key="train_seed")
    field_error("seed")
    st.text_input("Run name", key="train_run_name", help="letters, digits, '-', '_' and '.'")
    field_error("run_name")


def training_form() -> None:
    """The form and its Start button; each refused value's message under its field."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    if not st.session_state.get("train_run_name"):
        st.session_state["train_run_name"] = suggested_name()
    with st.form("train_form"):
        left, middle, right = st.columns(3)
        with left:
            _data_and_model()
        with middle:
            _objective()
        with right:
            _optimisation()
        st.form_submit_button("Start training", type="primary", on_click=on_start, key="train_start")
    if st.session_state.get("train_dataset") in DOWNLOADED:
        st.caption("This dataset is downloaded on first use; without internet access the job fails and says so.")
