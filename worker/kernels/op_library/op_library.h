// quantd's TorchScript op library (bin/libquantd_ops.so): the classes torch.classes.quantd.
// W8A8Linear / W4A8Linear (prepacked weights that artifacts carry through __getstate__ /
// __setstate__) and the ops quantd::w8a8_linear / quantd::w4a8_linear that run them on the
// kernel path this CPU has. LibTorch programs link it; Python loads it with
// torch.ops.load_library. A model using the ops does not load without it.
#pragma once

#include <string>

namespace quantd::kernels {

// Bumped when a class's serialized state changes shape: artifacts record the version they need,
// and a library older than an artifact's state refuses it by name.
inline constexpr int kOpLibraryVersion = 1;
inline constexpr const char* kOpLibraryFile = "libquantd_ops.so";

// "quantd_ops 1 (avx512_vnni, 2 threads)": the library, its version and the path it runs on.
std::string OpLibraryDescription();

// The kernel path the ops run on in this process (QUANTD_KERNEL_PATH or the fastest the CPU has).
std::string OpKernelPathName();

}  // namespace quantd::kernels
