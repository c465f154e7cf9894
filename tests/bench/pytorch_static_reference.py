"""PyTorch's own static INT8 (FX graph mode) for a fixture, with the same qconfig quantd uses:
per-tensor affine quint8 activations from min/max, per-channel symmetric qint8 weights, the
oneDNN engine, and the same calibration samples. Saves the scripted result.
Usage: pytorch_static_reference.py FIXTURE_DIR NAME CALIBRATION_NPY OUT.pt
"""
import os
import sys

import numpy as np
import torch
from torch.ao.quantization import (MinMaxObserver, PerChannelMinMaxObserver, QConfig,
                                   QConfigMapping)
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from fashion_cnn import FashionCNN  # noqa: E402
from fashion_mlp import FashionMLP  # noqa: E402

EAGER = {"fashion_cnn": FashionCNN, "fashion_mlp": FashionMLP}
BATCH = 64


def main():
    fixture_dir, name, calib_path, out = sys.argv[1:5]
    torch.backends.quantized.engine = "onednn"
    scripted = torch.jit.load(os.path.join(fixture_dir, f"{name}.pt"))
    eager = EAGER[name]()
    eager.load_state_dict(scripted.state_dict())
    eager.eval()
    qconfig = QConfig(
        activation=MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
        weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                  qscheme=torch.per_channel_symmetric))
    calib = torch.from_numpy(np.load(calib_path))
    prepared = prepare_fx(eager, QConfigMapping().set_global(qconfig), (calib[:1],))
    with torch.no_grad():
        for i in range(0, calib.shape[0], BATCH):
            prepared(calib[i:i + BATCH])
    quantized = convert_fx(prepared)
    torch.jit.script(quantized).save(out)


if __name__ == "__main__":
    main()
