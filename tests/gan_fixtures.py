"""Tiny random StyleGAN2 generators written in each external checkpoint format, for tests.

Written from the published layouts (NVIDIA's persistence records and TF Network state, as read
by stylegan2-ada-pytorch's legacy.py; rosinality's state dict as its convert_weight.py fills it),
without any of their code: stand-in modules are registered in sys.modules only while pickling so
that the pickle names the same globals as the real files.

    from gan_fixtures import make_tiny_generator, write_nvidia_pytorch_pickle
    G = make_tiny_generator(resolution=32, seed=0)
    write_nvidia_pytorch_pickle(G, tmp_path / "TINY.pkl")   # loads with unmask.gan.load_generator

Writers: `write_nvidia_pytorch_pickle(G, path)`, `write_nvidia_tf_pickle(G, path)`,
`write_rosinality_pt(G, path)`; all return the path. Tests of these tiny networks should run on
one torch thread (conftest's `one_torch_thread`): on the shared 2-core machine two threads made
them up to 25x slower (measured).
"""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from unmask.gan import Generator, GeneratorConfig
from unmask.gan.ops import setup_filter


def make_tiny_generator(resolution: int = 32, seed: int = 0, conv_clamp: float | None = None,
                        z_dim: int = 32, w_dim: int = 32) -> Generator:
    """A small random generator (channels <= 32, 2 mapping layers) with non-trivial biases, noise
    strengths and w_avg, so that every weight matters in the output."""
    torch.manual_seed(seed)
    cfg = GeneratorConfig(resolution=resolution, z_dim=z_dim, w_dim=w_dim, mapping_layers=2,
                          channel_base=16 * resolution, channel_max=32, conv_clamp=conv_clamp)
    G = Generator(cfg).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.copy_(torch.randn(()) * 0.3)
            elif name.endswith("affine.bias"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
        G.mapping.w_avg.normal_(0, 0.5)
    return G.requires_grad_(False)


@contextlib.contextmanager
def _fake_modules(**modules: types.ModuleType) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


# ---------------------------------------------------------------------------------------------
# NVIDIA PyTorch pickle: {"G", "D", "G_ema", "augment_pipe", "training_set_kwargs"}, each network a
# reduce call torch_utils.persistence._reconstruct_persistent_obj(meta) with meta = {type, version,
# module_src, class_name, state}, state being the torch Module's __dict__.

def _reconstruct_persistent_obj(meta):  # only its name matters: it is what the pickle refers to
    raise RuntimeError("stand-in; never called")


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"


class _PersistentObj:
    def __init__(self, meta: dict):
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


_NV_CLASS = {"Generator": "Generator", "MappingNetwork": "MappingNetwork",
             "FullyConnected": "FullyConnectedLayer", "SynthesisNetwork": "SynthesisNetwork",
             "SynthesisBlock": "SynthesisBlock", "SynthesisLayer": "SynthesisLayer",
             "ToRGBLayer": "ToRGBLayer"}


def _nv_record(module: torch.nn.Module, module_src: str) -> _PersistentObj:
    cls = type(module).__name__
    params = OrderedDict((k, torch.nn.Parameter(v.detach().clone(), requires_grad=False))
                         for k, v in module._parameters.items())
    buffers = OrderedDict()
    for k, v in module._buffers.items():
        if k == "noise_const":
            v = v[0, 0]  # NVIDIA keeps (r, r)
        buffers[k] = v.detach().clone()
    attrs: dict = {}
    if cls == "Generator":
        cfg = module.config
        attrs = dict(z_dim=cfg.z_dim, c_dim=0, w_dim=cfg.w_dim, img_resolution=cfg.resolution,
                     img_channels=cfg.img_channels, num_ws=module.num_ws)
        init_kwargs = dict(z_dim=cfg.z_dim, c_dim=0, w_dim=cfg.w_dim, img_resolution=cfg.resolution,
                           img_channels=cfg.img_channels, mapping_kwargs={"num_layers": cfg.mapping_layers},
                           synthesis_kwargs={"channel_base": cfg.channel_base, "channel_max": cfg.channel_max,
                                             "conv_clamp": cfg.conv_clamp, "num_fp16_res": 0})
        attrs["_init_kwargs"] = init_kwargs
    elif cls == "FullyConnected":
        attrs = dict(activation="lrelu" if module.lrelu else "linear",
                     weight_gain=np.float64(module.weight_gain), bias_gain=module.bias_gain)
    elif cls == "SynthesisLayer":
        attrs = dict(resolution=module.resolution, up=2 if module.up else 1, use_noise=True,
                     activation="lrelu", conv_clamp=module.conv_clamp, padding=1, act_gain=np.sqrt(2))
        buffers["resample_filter"] = setup_filter()
    elif cls == "ToRGBLayer":
        attrs = dict(conv_clamp=module.conv_clamp, weight_gain=np.float64(module.weight_gain))
    elif cls == "SynthesisBlock":
        attrs = dict(resolution=module.resolution, architecture="skip", use_fp16=False,
                     is_last=False, num_conv=1 if module.resolution == 4 else 2, num_torgb=1)
        buffers["resample_filter"] = setup_filter()
    elif cls == "MappingNetwork":
        attrs = dict(z_dim=module.z_dim, c_dim=0, w_dim=module.w_dim, num_ws=module.num_ws,
                     num_layers=module.num_layers, w_avg_beta=0.995)
    state = {"training": False, "_parameters": params, "_buffers": buffers,
             "_non_persistent_buffers_set": set(), "_backward_hooks": OrderedDict(),
             "_forward_hooks": OrderedDict(), "_forward_pre_hooks": OrderedDict(),
             "_state_dict_hooks": OrderedDict(), "_load_state_dict_pre_hooks": OrderedDict(),
             "_modules": OrderedDict((k, _nv_record(m, module_src)) for k, m in module._modules.items()),
             "_init_args": (), "_init_kwargs": {}, **attrs}
    meta = dict(type="class", version=4, module_src=module_src, class_name=_NV_CLASS[cls], state=state)
    return _PersistentObj(meta)


def write_nvidia_pytorch_pickle(G: Generator, path: str | Path,
                                module_src: str = "# training/networks.py would be here\n") -> Path:
    """Write G as stylegan2-ada-pytorch does (G, D, G_ema persistent objects). `module_src` is the
    source text stored with every network (tests put malicious code there)."""
    path = Path(path)
    persistence = types.ModuleType("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    torch_utils = types.ModuleType("torch_utils")
    torch_utils.persistence = persistence
    record = _nv_record(G, module_src)
    data = {"G": record, "D": None, "G_ema": record, "augment_pipe": None,
            "training_set_kwargs": {"resolution": G.resolution, "xflip": True}}
    with _fake_modules(torch_utils=torch_utils, **{"torch_utils.persistence": persistence}):
        with open(path, "wb") as handle:
            pickle.dump(data, handle, protocol=4)
    return path


# ---------------------------------------------------------------------------------------------
# NVIDIA TF pickle: a tuple (G, D, Gs) of dnnlib.tflib.network.Network objects, pickled through
# their __getstate__: version, name, static_kwargs, components, build_module_src, build_func_name,
# variables = [(name, ndarray)]. Layouts: dense (in, out), conv HWIO, TF's up-sampling conv
# kernel flipped, mod_bias without the +1, noise inputs synthesis/noise{i} of shape (1, 1, r, r).

class _TFNetwork:
    def __init__(self, state: dict):
        self._state = state

    def __getstate__(self) -> dict:
        return self._state


_TFNetwork.__module__ = "dnnlib.tflib.network"
_TFNetwork.__qualname__ = _TFNetwork.__name__ = "Network"


def _tf_state(name: str, variables: list, components: dict | None = None, **static_kwargs) -> dict:
    return {"version": 4, "name": name, "static_kwargs": static_kwargs, "components": components or {},
            "build_module_src": "# training/networks_stylegan2.py would be here\n",
            "build_func_name": f"training.networks_stylegan2.{name}", "variables": variables}


def _np(t: torch.Tensor) -> np.ndarray:
    return np.array(t.detach().cpu().numpy(), dtype=np.float32, order="C")  # keeps 0-d scalars 0-d


def write_nvidia_tf_pickle(G: Generator, path: str | Path) -> Path:
    """Write G as the original TensorFlow StyleGAN2 pickles are laid out: (G, D, Gs)."""
    path = Path(path)
    sd = G.state_dict()
    cfg = G.config
    mapping = []
    for i in range(cfg.mapping_layers):
        mapping += [(f"Dense{i}/weight", _np(sd[f"mapping.fc{i}.weight"].T)),
                    (f"Dense{i}/bias", _np(sd[f"mapping.fc{i}.bias"]))]
    synthesis = [("4x4/Const/const", _np(sd["synthesis.b4.const"][None]))]
    noises = []
    for res in G.synthesis.block_resolutions:
        layers = [("conv1", "Conv" if res == 4 else "Conv1")] + ([("conv0", "Conv0_up")] if res > 4 else [])
        for ours, theirs in layers:
            src = f"synthesis.b{res}.{ours}"
            weight = _np(sd[f"{src}.weight"].permute(2, 3, 1, 0))
            if ours == "conv0":
                weight = np.array(weight[::-1, ::-1], order="C")
            synthesis += [(f"{res}x{res}/{theirs}/weight", weight),
                          (f"{res}x{res}/{theirs}/mod_weight", _np(sd[f"{src}.affine.weight"].T)),
                          (f"{res}x{res}/{theirs}/mod_bias", _np(sd[f"{src}.affine.bias"] - 1)),
                          (f"{res}x{res}/{theirs}/noise_strength", _np(sd[f"{src}.noise_strength"])),
                          (f"{res}x{res}/{theirs}/bias", _np(sd[f"{src}.bias"]))]
        src = f"synthesis.b{res}.torgb"
        synthesis += [(f"{res}x{res}/ToRGB/weight", _np(sd[f"{src}.weight"].permute(2, 3, 1, 0))),
                      (f"{res}x{res}/ToRGB/mod_weight", _np(sd[f"{src}.affine.weight"].T)),
                      (f"{res}x{res}/ToRGB/mod_bias", _np(sd[f"{src}.affine.bias"] - 1)),
                      (f"{res}x{res}/ToRGB/bias", _np(sd[f"{src}.bias"]))]
    for i, noise in enumerate(G.synthesis.noise_buffers()):
        noises.append((f"noise{i}", _np(noise)))
    kwargs = dict(resolution=cfg.resolution, num_channels=cfg.img_channels, latent_size=cfg.z_dim,
                  dlatent_size=cfg.w_dim, mapping_layers=cfg.mapping_layers, label_size=0,
                  fmap_base=cfg.channel_base // 2, fmap_max=cfg.channel_max, architecture="skip",
                  resample_kernel=[1, 3, 3, 1], truncation_psi=0.5)
    if cfg.conv_clamp is not None:
        kwargs["conv_clamp"] = cfg.conv_clamp

    def generator(name: str) -> _TFNetwork:
        comps = {"mapping": _TFNetwork(_tf_state("G_mapping", mapping)),
                 "synthesis": _TFNetwork(_tf_state("G_synthesis", synthesis + noises))}
        own = [("lod", np.float32(0.0)), ("dlatent_avg", _np(sd["mapping.w_avg"]))]
        return _TFNetwork(_tf_state(name, own, comps, **kwargs))

    discriminator = _TFNetwork(_tf_state("D", [("Output/weight", np.zeros((4, 1), np.float32))]))
    tflib = types.ModuleType("dnnlib.tflib")
    network = types.ModuleType("dnnlib.tflib.network")
    network.Network = _TFNetwork
    with _fake_modules(dnnlib=types.ModuleType("dnnlib"), **{"dnnlib.tflib": tflib, "dnnlib.tflib.network": network}):
        with open(path, "wb") as handle:
            pickle.dump((generator("G"), discriminator, generator("Gs")), handle, protocol=3)
    return path


# ---------------------------------------------------------------------------------------------
# rosinality/stylegan2-pytorch: torch.save({"g_ema": state_dict, "latent_avg": w_avg}).

def write_rosinality_pt(G: Generator, path: str | Path) -> Path:
    """Write G as rosinality's convert_weight.py saves it ({'g_ema', 'latent_avg'})."""
    path = Path(path)
    sd = {k: v.detach().clone() for k, v in G.state_dict().items()}
    out: dict[str, torch.Tensor] = {}
    for i in range(G.config.mapping_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]
    blur = setup_filter() * 4

    def styled(src: str, dst: str, up: bool) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        if up:
            out[f"{dst}.conv.blur.kernel"] = blur.clone()

    def rgb(src: str, dst: str, up: bool) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)
        if up:
            out[f"{dst}.upsample.kernel"] = blur.clone()

    styled("synthesis.b4.conv1", "conv1", False)
    rgb("synthesis.b4.torgb", "to_rgb1", False)
    for i, res in enumerate(G.synthesis.block_resolutions[1:]):
        styled(f"synthesis.b{res}.conv0", f"convs.{2 * i}", True)
        styled(f"synthesis.b{res}.conv1", f"convs.{2 * i + 1}", False)
        rgb(f"synthesis.b{res}.torgb", f"to_rgbs.{i}", True)
    for i, noise in enumerate(G.synthesis.noise_buffers()):
        out[f"noises.noise_{i}"] = noise.detach().clone()
    torch.save({"g_ema": out, "latent_avg": sd["mapping.w_avg"]}, path)
    return path
