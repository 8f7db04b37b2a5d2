"""The lessons follow the lecture's VAE: variational and unconditional."""
from explorer.lessons.models import is_lecture_vae
from vae_core.models import ModelConfig


def test_only_an_unconditional_vae_is_the_lectures():
    assert is_lecture_vae(ModelConfig(kind="vae"))
    assert not is_lecture_vae(ModelConfig(kind="ae"))
    assert not is_lecture_vae(ModelConfig(kind="cvae", num_classes=10))
