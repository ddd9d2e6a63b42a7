"""Reading NVIDIA's network pickles without running any code stored in them.

NVIDIA's PyTorch pickles (stylegan2-ada-pytorch, stylegan3) rebuild each network through
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, which `exec`s `meta["module_src"]`.
NVIDIA's TensorFlow pickles (the original StyleGAN2) hold `dnnlib.tflib.network.Network` objects
whose `__setstate__` `exec`s `build_module_src`. A plain `pickle.load` of either runs whatever code
the file carries.

`SafeUnpickler` resolves only the globals in `_ALLOWED`, each mapped to a function of ours that
builds data and nothing else: the persistence hook returns a `PersistentRecord` (class name and
state; `module_src` is never looked at), a TF network becomes a `TFNetworkRecord` holding its state,
tensors are rebuilt with `torch.load(weights_only=True)`. Any other global is refused with a
`CheckpointError` naming the file and the global.

The converters turn the generator found in such a file into our (GeneratorConfig, state dict),
following the layouts that stylegan2-ada-pytorch's `legacy.py` documents for TF pickles.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import io
import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from unmask.errors import CheckpointError
from unmask.gan.generator import GeneratorConfig
from unmask.gan.ops import setup_filter


class PersistentRecord:
    """What a persistent NVIDIA network object leaves behind: its class name and its `__dict__`."""

    def __init__(self, class_name: str, state: dict):
        self.class_name = class_name
        self.state = state


class TFNetworkRecord:
    """A `dnnlib.tflib.network.Network` reduced to its pickled state (`variables`, `components`,
    `static_kwargs`, `version`...). Its `build_module_src` is kept as text, never run."""

    state: dict

    def __setstate__(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("TF network state is not a dict")
        self.state = state


class AttrDict(dict):
    """Stands in for `dnnlib.util.EasyDict` (a dict subclass); keeps items, ignores attributes."""

    def __setstate__(self, state: Any) -> None:
        pass


def _persistent(meta: dict) -> PersistentRecord:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise pickle.UnpicklingError("malformed persistent-object record")
    return PersistentRecord(str(meta.get("class_name")), meta["state"])


def _load_storage(data: bytes):
    # torch's own `_load_from_bytes` calls torch.load(weights_only=False): never use it here.
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("tensor storage is not bytes")
    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None) -> torch.Tensor:
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise pickle.UnpicklingError("tensor without a storage")
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, False, OrderedDict())


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter without a tensor")
    return data


def _rebuild_from_type(func, new_type, args, state) -> torch.Tensor:
    if func not in (_rebuild_tensor, _rebuild_parameter) or new_type not in (torch.Tensor, torch.nn.Parameter):
        raise pickle.UnpicklingError("unexpected tensor subclass")
    return func(*args)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise pickle.UnpicklingError("numpy scalar of an object type")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _numpy_dtype(spec, align=False, copy=False) -> np.dtype:
    if not isinstance(spec, str):
        raise pickle.UnpicklingError("numpy dtype given by something other than its name")
    dtype = np.dtype(spec)
    if dtype.hasobject:
        raise pickle.UnpicklingError("numpy object dtype")
    return dtype


def _numpy_reconstruct(cls, shape, dtype_code) -> np.ndarray:
    if cls is not np.ndarray:
        raise pickle.UnpicklingError("numpy array of an unexpected class")
    return np.ndarray.__new__(np.ndarray, shape, _numpy_dtype(dtype_code if isinstance(dtype_code, str)
                                                              else dtype_code.decode("latin1")))


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles store bytes as _codecs.encode(str, "latin1").
    if not isinstance(text, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError("unexpected _codecs.encode call")
    return text.encode("latin1")


def _reconstructor(cls, base, state):
    # Protocol 0/1 object creation (copyreg._reconstructor), limited to our record classes.
    if cls not in (TFNetworkRecord, AttrDict) or base not in (object, dict):
        raise pickle.UnpicklingError("unexpected object construction")
    return cls.__new__(cls) if base is object else cls(state or {})


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent,
    ("dnnlib.tflib.network", "Network"): TFNetworkRecord,
    ("dnnlib.util", "EasyDict"): AttrDict,
    ("dnnlib", "EasyDict"): AttrDict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
    ("builtins", "dict"): dict,
    ("_codecs", "encode"): _latin1_bytes,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch", "Tensor"): torch.Tensor,
    ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    ("torch", "device"): torch.device,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}


class SafeUnpickler(pickle.Unpickler):
    """A pickle reader that can only build plain data: see `_ALLOWED`."""

    def __init__(self, file: BinaryIO, path: Path):
        super().__init__(file)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 0-2 pickles written by Python 3 use Python 2 names (__builtin__, copy_reg).
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _ALLOWED.get((module, name))
        if found is None:
            raise CheckpointError(
                f"refusing to load: the pickle asks for '{module}.{name}', which could run code "
                "(only NVIDIA network records, tensors and arrays are allowed)", self.path)
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("refusing to load: the pickle uses persistent ids (not a network pickle)",
                              self.path)


def read_pickle(path: Path) -> Any:
    """Unpickle `path` with `SafeUnpickler`; CheckpointError for a refused global or a bad file."""
    try:
        with open(path, "rb") as handle:
            return SafeUnpickler(handle, path).load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, RuntimeError, OverflowError, MemoryError) as exc:
        raise CheckpointError(f"cannot read this pickle ({type(exc).__name__}: {exc})", path) from None


# --------------------------------------------------------------------------------------------------
# PyTorch pickles (stylegan2-ada-pytorch, stylegan3's StyleGAN2 networks)


def _flatten(record: PersistentRecord, prefix: str, out: dict[str, torch.Tensor],
             records: dict[str, PersistentRecord]) -> None:
    records[prefix.rstrip(".")] = record
    state = record.state
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if isinstance(value, torch.Tensor):
                out[prefix + name] = value
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PersistentRecord):
            _flatten(child, prefix + name + ".", out, records)


def convert_pytorch_pickle(data: Any, path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """The generator (G_ema, else G) of an unpickled NVIDIA PyTorch pickle -> (config, state)."""
    if not isinstance(data, dict) or not any(isinstance(data.get(k), PersistentRecord) for k in ("G_ema", "G")):
        raise CheckpointError("this pickle holds no NVIDIA generator (no 'G_ema' or 'G' network)", path)
    gen = data["G_ema"] if isinstance(data.get("G_ema"), PersistentRecord) else data["G"]
    tensors: dict[str, torch.Tensor] = {}
    records: dict[str, PersistentRecord] = {}
    _flatten(gen, "", tensors, records)
    top = gen.state
    if "synthesis" not in records or "mapping" not in records:
        raise CheckpointError(f"the generator ({gen.class_name}) has no mapping/synthesis networks", path)
    if "synthesis.input" in records:  # StyleGAN3's SynthesisInput
        raise CheckpointError("this is a StyleGAN3 generator; only StyleGAN2 networks are supported", path)
    if int(top.get("c_dim", 0) or 0) != 0:
        raise CheckpointError("conditional generators (c_dim > 0) are not supported", path)
    for name, rec in records.items():
        arch = rec.state.get("architecture")
        if arch is not None and arch != "skip":
            raise CheckpointError(f"synthesis architecture '{arch}' is not supported (only 'skip')", path)
        act = rec.state.get("activation")
        if act is not None and act not in ("lrelu", "linear"):
            raise CheckpointError(f"activation '{act}' in {name} is not supported", path)
    layer = records.get("synthesis.b4.conv1")
    conv_clamp = layer.state.get("conv_clamp") if layer is not None else None
    fc0 = records.get("mapping.fc0")
    lr_multiplier = float(fc0.state.get("bias_gain", 0.01)) if fc0 is not None else 0.01
    state = {}
    for name, value in tensors.items():
        if name.endswith("resample_filter"):
            check_filter(value, path, name)
            continue
        if name.endswith("noise_const"):
            value = value.reshape(1, 1, *value.shape[-2:])
        state[name] = value.float()
    config = config_from_state(state, path, conv_clamp=None if conv_clamp is None else float(conv_clamp),
                               mapping_lr_multiplier=lr_multiplier)
    return config, state


def check_filter(value: torch.Tensor, path: Path, name: str) -> None:
    f = value.float()
    if f.dim() == 1:
        f = f[:, None] * f[None, :]
    if f.shape != (4, 4) or not torch.allclose(f / f.sum(), setup_filter(), atol=1e-6):
        raise CheckpointError(f"{name}: only the [1, 3, 3, 1] resampling filter is supported", path)


def config_from_state(state: dict[str, torch.Tensor], path: Path, **settings: Any) -> GeneratorConfig:
    """Infer the architecture of a state dict in our naming (shapes give resolution, widths and
    channel rule); `settings` adds what shapes cannot tell (conv_clamp, mapping lr multiplier)."""
    blocks = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"synthesis\.b(\d+)\.conv1\.weight", k)))
    layers = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"mapping\.fc(\d+)\.weight", k)))
    if not blocks or not layers or blocks[0] != 4 or "synthesis.b4.const" not in state:
        raise CheckpointError("no StyleGAN2 synthesis/mapping weights found", path)
    channels = {res: int(state[f"synthesis.b{res}.conv1.weight"].shape[0]) for res in blocks}
    channel_max = max(channels.values())
    below = [res for res in blocks if channels[res] < channel_max]
    channel_base = channels[below[0]] * below[0] if below else channel_max * blocks[-1]
    try:
        config = GeneratorConfig(
            resolution=blocks[-1],
            z_dim=int(state["mapping.fc0.weight"].shape[1]),
            w_dim=int(state[f"mapping.fc{layers[-1]}.weight"].shape[0]),
            img_channels=int(state[f"synthesis.b{blocks[-1]}.torgb.weight"].shape[0]),
            mapping_layers=len(layers),
            channel_base=channel_base,
            channel_max=channel_max,
            **settings,
        )
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"unsupported generator layout ({exc})", path) from None
    if any(config.channels(res) != ch for res, ch in channels.items()) or blocks != [2 ** i for i in range(2, len(blocks) + 2)]:
        raise CheckpointError(f"unsupported channel layout {channels} (not min(base / r, max))", path)
    return config


# --------------------------------------------------------------------------------------------------
# TensorFlow pickles (original StyleGAN2, e.g. stylegan2-ffhq-config-f.pkl)


def _tf_variables(net: TFNetworkRecord, prefix: str, out: dict[str, np.ndarray]) -> None:
    for name, value in net.state.get("variables", []):
        out[prefix + name] = np.asarray(value)
    for name, comp in (net.state.get("components") or {}).items():
        if isinstance(comp, TFNetworkRecord):
            _tf_variables(comp, prefix + name + "/", out)


def convert_tf_pickle(data: Any, path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """The Gs network of an unpickled NVIDIA TF pickle (G, D, Gs) -> (config, state)."""
    if not (isinstance(data, tuple) and len(data) == 3 and all(isinstance(n, TFNetworkRecord) for n in data)):
        raise CheckpointError("this pickle holds no TensorFlow (G, D, Gs) networks", path)
    gs = data[2]
    if gs.state.get("version", 0) < 4:
        raise CheckpointError("TensorFlow network pickle too old (StyleGAN1?); StyleGAN2 needs version 4", path)
    kwargs = gs.state.get("static_kwargs") or {}
    if kwargs.get("architecture", "skip") != "skip":
        raise CheckpointError(f"synthesis architecture '{kwargs['architecture']}' is not supported", path)
    if int(kwargs.get("label_size", 0) or 0) != 0:
        raise CheckpointError("conditional generators (label_size > 0) are not supported", path)
    for key in ("nonlinearity", "mapping_nonlinearity"):
        if kwargs.get(key, "lrelu") != "lrelu":
            raise CheckpointError(f"{key} '{kwargs[key]}' is not supported (only 'lrelu')", path)
    if list(kwargs.get("resample_kernel", [1, 3, 3, 1])) != [1, 3, 3, 1]:
        raise CheckpointError("only the [1, 3, 3, 1] resampling filter is supported", path)
    tf: dict[str, np.ndarray] = {}
    _tf_variables(gs, "", tf)

    def get(name: str) -> np.ndarray:
        if name not in tf:
            raise CheckpointError(f"TensorFlow variable '{name}' is missing", path)
        return tf[name]

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    state: dict[str, torch.Tensor] = {"mapping.w_avg": tensor(get("dlatent_avg"))}
    i = 0
    while f"mapping/Dense{i}/weight" in tf:
        state[f"mapping.fc{i}.weight"] = tensor(get(f"mapping/Dense{i}/weight").T)
        state[f"mapping.fc{i}.bias"] = tensor(get(f"mapping/Dense{i}/bias"))
        i += 1
    res = 4
    state["synthesis.b4.const"] = tensor(get("synthesis/4x4/Const/const")[0])
    while f"synthesis/{res}x{res}/ToRGB/weight" in tf:
        j = res.bit_length() - 1
        layers = {"conv1": ("Conv" if res == 4 else "Conv1", 2 * j - 4)}
        if res > 4:
            layers["conv0"] = ("Conv0_up", 2 * j - 5)
        for ours, (theirs, noise_index) in layers.items():
            src, dst = f"synthesis/{res}x{res}/{theirs}", f"synthesis.b{res}.{ours}"
            weight = get(f"{src}/weight")  # HWIO
            if ours == "conv0":
                weight = weight[::-1, ::-1]  # TF's up-sampling conv is a flipped transposed conv
            state[f"{dst}.weight"] = tensor(weight.transpose(3, 2, 0, 1))
            state[f"{dst}.bias"] = tensor(get(f"{src}/bias"))
            state[f"{dst}.noise_strength"] = tensor(get(f"{src}/noise_strength")).reshape(())
            state[f"{dst}.noise_const"] = tensor(get(f"synthesis/noise{noise_index}")).reshape(1, 1, res, res)
            state[f"{dst}.affine.weight"] = tensor(get(f"{src}/mod_weight").T)
            state[f"{dst}.affine.bias"] = tensor(get(f"{src}/mod_bias") + 1)  # TF adds 1 at run time
        src, dst = f"synthesis/{res}x{res}/ToRGB", f"synthesis.b{res}.torgb"
        state[f"{dst}.weight"] = tensor(get(f"{src}/weight").transpose(3, 2, 0, 1))
        state[f"{dst}.bias"] = tensor(get(f"{src}/bias"))
        state[f"{dst}.affine.weight"] = tensor(get(f"{src}/mod_weight").T)
        state[f"{dst}.affine.bias"] = tensor(get(f"{src}/mod_bias") + 1)
        res *= 2
    clamp = kwargs.get("conv_clamp")
    config = config_from_state(state, path, conv_clamp=None if clamp is None else float(clamp),
                               mapping_lr_multiplier=float(kwargs.get("mapping_lrmul", 0.01)))
    return config, state


def convert_nvidia_pickle(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Read an NVIDIA network pickle (PyTorch or TensorFlow) safely -> (config, state)."""
    data = read_pickle(path)
    if isinstance(data, tuple):
        return convert_tf_pickle(data, path)
    return convert_pytorch_pickle(data, path)

