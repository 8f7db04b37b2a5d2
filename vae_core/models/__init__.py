"""VAE and AE models over shared MLP and conv encoder/decoder families."""
from vae_core.models.autoencoders import AE, VAE, ForwardTerms, build_model, gaussian_kl_per_dim
from vae_core.models.config import ModelConfig

__all__ = ["AE", "VAE", "ForwardTerms", "ModelConfig", "build_model", "gaussian_kl_per_dim"]
