"""StyleGAN2 in plain PyTorch: the generator, the style index layout, safe checkpoint readers,
the project's own weights format and the model zoo (see docs/weights.md)."""

from unmask.gan.checkpoints import load_generator, read_weights, save_generator
from unmask.gan.generator import Generator, GeneratorConfig
from unmask.gan.layout import band_indices, num_ws, style_indices

__all__ = ["Generator", "GeneratorConfig", "band_indices", "load_generator", "num_ws", "read_weights",
           "save_generator", "style_indices"]
