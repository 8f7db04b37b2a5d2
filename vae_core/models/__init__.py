"""VAE, AE and conditional VAE models over shared MLP and conv encoder/decoder families."""
from vae_core.models.autoencoders import AE, CVAE, VAE, ForwardTerms, build_model, gaussian_kl_per_dim
from vae_core.models.config import ModelConfig, check_labels_fit, default_num_classes

__all__ = ["AE", "CVAE", "VAE", "ForwardTerms", "ModelConfig", "build_model", "check_labels_fit", "default_num_classes", "gaussian_kl_per_dim"]
