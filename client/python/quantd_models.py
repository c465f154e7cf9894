"""quantd_models: load a model quantd stored, in PyTorch (no gRPC needed).

`model.pt` files use PyTorch's stock int8 ops and load with torch.jit.load alone.
`model.quantd.pt` files run quantd's own int8 / int4 kernels, which live in quantd's op library
(`libquantd_ops.so`, built into build/bin next to the binaries); load it first:

    from quantd_models import load_model
    model = load_model("model.quantd.pt", op_library="build/bin/libquantd_ops.so")

or yourself: torch.ops.load_library(".../libquantd_ops.so"); torch.jit.load("model.quantd.pt").
"""
import os

OP_LIBRARY = "libquantd_ops.so"


def load_model(path, op_library=None):
    """torch.jit.load(path), after loading quantd's op library from `op_library` (or
    $QUANTD_OP_LIBRARY) when given. A model that needs the library and finds it missing raises
    RuntimeError saying so, instead of PyTorch's "Unknown type name" message."""
    import torch

    op_library = op_library or os.environ.get("QUANTD_OP_LIBRARY")
    if op_library:
        torch.ops.load_library(op_library)
    try:
        return torch.jit.load(path)
    except RuntimeError as e:
        if "torch.classes.quantd." not in str(e):
            raise
        raise RuntimeError(
            f"{path} runs on quantd's own kernels and needs quantd's op library ({OP_LIBRARY}): "
            f"pass load_model(..., op_library='<build>/bin/{OP_LIBRARY}') or call "
            f"torch.ops.load_library on it before torch.jit.load") from None
