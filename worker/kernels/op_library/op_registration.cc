// TORCH_LIBRARY(quantd): the classes, their pickling and the ops, registered when the library is
// loaded (by the linker for quantd's own binaries, by torch.ops.load_library in Python).
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>

#include "worker/kernels/op_library/kernel_runtime.h"
#include "worker/kernels/op_library/op_library.h"
#include "worker/kernels/op_library/packed_linear.h"

namespace quantd::kernels {

std::string OpKernelPathName() { return KernelPathName(OpKernelPath()); }

std::string OpLibraryDescription() {
  const int threads = std::max(1, at::get_num_threads());  // the intra-op threads ops split over
  return "quantd_ops " + std::to_string(kOpLibraryVersion) + " (" + OpKernelPathName() + ", " +
         std::to_string(threads) + " thread" + (threads > 1 ? "s" : "") + ")";
}

namespace {

// in_features() / out_features(), as torch.nn.Linear names them, on either class.
template <typename Class>
torch::class_<Class>& WithShape(torch::class_<Class>&& c) {
  using Self = const c10::intrusive_ptr<Class>&;
  return c.def("in_features", [](Self self) { return self->packed.in; })
      .def("out_features", [](Self self) { return self->packed.out; });
}

}  // namespace

TORCH_LIBRARY(quantd, m) {
  WithShape(m.class_<W8A8LinearClass>("W8A8Linear"))
      .def(torch::init(&MakeW8A8Linear))
      .def_pickle(
          [](const c10::intrusive_ptr<W8A8LinearClass>& self) { return W8A8GetState(self); },
          [](W8A8State state) { return W8A8SetState(std::move(state)); });
  WithShape(m.class_<W4A8LinearClass>("W4A8Linear"))
      .def(torch::init(&MakeW4A8Linear))
      .def("group_size",
           [](const c10::intrusive_ptr<W4A8LinearClass>& self) { return self->packed.group_size; })
      .def_pickle(
          [](const c10::intrusive_ptr<W4A8LinearClass>& self) { return W4A8GetState(self); },
          [](W4A8State state) { return W4A8SetState(std::move(state)); });
  m.def(
      "w8a8_linear(Tensor x, __torch__.torch.classes.quantd.W8A8Linear w, bool relu=False) "
      "-> Tensor",
      &RunW8A8Linear);
  m.def(
      "w4a8_linear(Tensor x, __torch__.torch.classes.quantd.W4A8Linear w, bool relu=False) "
      "-> Tensor",
      &RunW4A8Linear);
  m.def(
      "w4a8_quantize(Tensor weight, int group_size, bool symmetric, Tensor? bias=None) -> "
      "__torch__.torch.classes.quantd.W4A8Linear",
      &QuantizeW4A8Linear);
  m.def("op_library() -> str", [] { return OpLibraryDescription(); });
}

}  // namespace quantd::kernels
