"""The region network's one definition, in torch, and its ONNX file: for training and export only.

`scripts/train_region_net.py` trains `RegionNet` and writes it with `write_onnx`; the package runs
that file with OpenCV's DNN module (`unmask.region.net`), so no run imports this module or torch.
The ONNX file is also training's checkpoint: `read_onnx` takes its weights back (for `--init`)
with the `onnx` package (the dev extra), which parses the file as data and runs none of its
contents.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from unmask.errors import UnmaskError
from unmask.images import write_atomic
from unmask.region.net import INPUTS, SIDE

WIDTHS = (16, 32, 48, 64)
"""Channels per U-Net level, finest first; the last level is the bottleneck."""
OPSET = 13
"""ONNX operator set of the written file (OpenCV 4.8's importer reads it)."""


def layer_names() -> list[tuple[str, int, int]]:
    """(name, in channels, out channels) of every 3x3 convolution in order, then the 1x1 head."""
    names, channels = [], INPUTS
    for level, width in enumerate(WIDTHS):
        names += [(f"down{level}a", channels, width), (f"down{level}b", width, width)]
        channels = width
    for level in range(len(WIDTHS) - 2, -1, -1):
        width = WIDTHS[level]
        names += [(f"up{level}a", channels + width, width), (f"up{level}b", width, width)]
        channels = width
    return names + [("head", channels, 1)]


class RegionNet(nn.Module):
    """A four-level U-Net: 3x3 convolutions and ReLU, 2x2 max pooling, nearest upsampling, skip
    connections by concatenation, and a 1x1 head. Input float (N, INPUTS, H, W) (H and W divisible
    by 8), output the mask logits float (N, 1, H, W)."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict({name: nn.Conv2d(cin, cout, 1 if name == "head" else 3,
                                                    padding=0 if name == "head" else 1)
                                    for name, cin, cout in layer_names()})

    def block(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.relu(self.convs[name + "b"](F.relu(self.convs[name + "a"](x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level in range(len(WIDTHS)):
            x = self.block(F.max_pool2d(x, 2) if level else x, f"down{level}")
            skips.append(x)
        for level in range(len(WIDTHS) - 2, -1, -1):
            x = self.block(torch.cat([F.interpolate(x, scale_factor=2.0, mode="nearest"), skips[level]], 1),
                           f"up{level}")
        return self.convs["head"](x)


def write_onnx(model: RegionNet, path: str | Path, training: str) -> Path:
    """Write `model` as an ONNX file for an input (1, INPUTS, SIDE, SIDE), named `input`, and an
    output `logits` (1, 1, SIDE, SIDE); `training` (how it was trained) goes into the file's
    metadata. Written atomically."""
    import onnx

    model.eval()
    exported = io.BytesIO()
    with warnings.catch_warnings():
        # the TorchScript exporter, on purpose: opset 13 for OpenCV 4.8, and no onnxscript needed
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, INPUTS, SIDE, SIDE),), exported, dynamo=False,
                          opset_version=OPSET, input_names=["input"], output_names=["logits"])
    proto = onnx.load_from_string(exported.getvalue())
    onnx.helper.set_model_props(proto, {"training": training})
    return write_atomic(path, lambda handle: handle.write(proto.SerializeToString()))


def read_onnx(path: str | Path) -> tuple[RegionNet, str]:
    """The network of an ONNX file written by `write_onnx`, and its training note. `UnmaskError`
    for a file that is not one (unreadable, weights missing, of the wrong shape or stored outside
    the file)."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import external_data_helper, numpy_helper

    def refuse(problem: str) -> UnmaskError:
        return UnmaskError(f"{path}: not a region network file ({problem})")

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except (OSError, ValueError, DecodeError) as error:
        raise refuse(str(error) or type(error).__name__) from None
    model = RegionNet()
    wanted = model.state_dict()
    weights = {}
    for tensor in proto.graph.initializer:
        if tensor.name in wanted:
            if external_data_helper.uses_external_data(tensor):
                raise refuse(f"{tensor.name} is stored outside the file")
            weights[tensor.name] = torch.from_numpy(np.array(numpy_helper.to_array(tensor), np.float32))
    for name, value in wanted.items():
        if name not in weights or weights[name].shape != value.shape:
            raise refuse(f"{name} is missing or has the wrong shape")
    model.load_state_dict(weights)
    notes = {prop.key: prop.value for prop in proto.metadata_props}
    return model, notes.get("training", "unknown")
