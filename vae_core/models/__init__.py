"""VAE, AE and conditional VAE models over shared MLP and conv encoder/decoder families, and the Gaussian posterior."""
from vae_core.models.autoencoders import AE, CVAE, VAE, ForwardTerms, build_model
from vae_core.models.config import ModelConfig, check_labels_fit, default_num_classes
from vae_core.models.gaussian import DiagonalGaussian

__all__ = ["AE", "CVAE", "VAE", "DiagonalGaussian", "ForwardTerms", "ModelConfig", "build_model", "check_labels_fit",
           "default_num_classes"]
