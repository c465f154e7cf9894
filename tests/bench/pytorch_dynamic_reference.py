"""PyTorch's own dynamic INT8 for a fixture, the reference quantd is compared against.

Rebuilds the eager module from the fixture script's class, loads the TorchScript fixture's
weights, applies torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8) and saves the
scripted result. Usage: pytorch_dynamic_reference.py FIXTURE_DIR NAME OUT.pt
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from fashion_mlp import FashionMLP  # noqa: E402
from qnetwork import BaseQNetwork  # noqa: E402

EAGER = {"qnetwork": BaseQNetwork, "fashion_mlp": FashionMLP}


def main():
    fixture_dir, name, out = sys.argv[1:4]
    torch.backends.quantized.engine = "onednn"
    scripted = torch.jit.load(os.path.join(fixture_dir, f"{name}.pt"))
    eager = EAGER[name]()
    eager.load_state_dict(scripted.state_dict())
    eager.eval()
    quantized = torch.ao.quantization.quantize_dynamic(eager, {nn.Linear}, dtype=torch.qint8)
    torch.jit.script(quantized).save(out)


if __name__ == "__main__":
    main()
