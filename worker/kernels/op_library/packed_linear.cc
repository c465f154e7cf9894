// Construction, pickling and running of the packed Linear classes; every refusal is a c10::Error
// whose message names the class and the field.
#include "worker/kernels/op_library/packed_linear.h"

#include <ATen/ATen.h>

#include <cstring>

#include "worker/kernels/op_library/kernel_runtime.h"
#include "worker/kernels/op_library/op_library.h"

namespace quantd::kernels {
namespace {

template <typename T>
T Checked(absl::StatusOr<T> r, const char* cls) {
  TORCH_CHECK(r.ok(), cls, ": ", std::string(r.status().message()));
  return std::move(*r);
}

void CheckTensor(const at::Tensor& t, at::ScalarType dtype, int64_t dims, const char* cls,
                 const char* field) {
  TORCH_CHECK(t.scalar_type() == dtype, cls, ": ", field, " must be ", c10::toString(dtype),
              ", got ", c10::toString(t.scalar_type()));
  TORCH_CHECK(t.dim() == dims, cls, ": ", field, " must have ", dims, " dimensions, got ", t.dim());
}

template <typename T>
std::vector<T> Values(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T, typename S = T>
at::Tensor ToTensor(const std::vector<T>& v, std::vector<int64_t> shape, at::ScalarType dtype) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (!v.empty()) std::memcpy(t.data_ptr(), v.data(), v.size() * sizeof(T));
  return t;
}

std::vector<float> OptionalBias(const c10::optional<at::Tensor>& bias, int64_t out,
                                const char* cls) {
  if (!bias || !bias->defined() || bias->numel() == 0) return {};
  CheckTensor(*bias, at::kFloat, 1, cls, "bias");
  TORCH_CHECK(bias->size(0) == out, cls, ": bias has ", bias->size(0), " values for ", out,
              " outputs");
  return Values<float>(*bias);
}

void CheckVersion(int64_t version, const char* cls) {
  TORCH_CHECK(version >= 1 && version <= kOpLibraryVersion, cls,
              ": the artifact's state is "
              "version ",
              version, ", this op library (", kOpLibraryFile, ") reads up to version ",
              kOpLibraryVersion, "; load a newer ", kOpLibraryFile);
}

// x [..., in] through `kernel` (W8A8Linear or W4A8Linear) on the process's path and threads.
template <typename Packed>
at::Tensor RunRows(const at::Tensor& x, const Packed& p, bool relu, const char* op,
                   void (*kernel)(const Packed&, const float*, int64_t, float*, bool, KernelPath,
                                  ThreadSplitter*)) {
  const int64_t in = p.in, out = p.out;
  TORCH_CHECK(x.scalar_type() == at::kFloat, op, ": input must be float32, got ",
              c10::toString(x.scalar_type()));
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == in, op, ": input's last dimension must be ", in,
              ", got shape ", x.sizes());
  const at::Tensor c = x.contiguous();
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out;
  at::Tensor y = at::empty(shape, x.options());
  const int64_t rows = in ? c.numel() / in : 0;
  if (rows > 0) {
    kernel(p, c.data_ptr<float>(), rows, y.data_ptr<float>(), relu, OpKernelPath(), OpThreads());
  }
  return y;
}

}  // namespace

c10::intrusive_ptr<W8A8LinearClass> MakeW8A8Linear(const at::Tensor& weight,
                                                   const c10::optional<at::Tensor>& bias) {
  const char* cls = "quantd.W8A8Linear";
  CheckTensor(weight, at::kFloat, 2, cls, "weight");
  const at::Tensor w = weight.contiguous();
  std::vector<float> b = OptionalBias(bias, w.size(0), cls);
  return c10::make_intrusive<W8A8LinearClass>(Checked(
      PackW8A8(w.data_ptr<float>(), w.size(0), w.size(1), b.empty() ? nullptr : b.data()), cls));
}

c10::intrusive_ptr<W4A8LinearClass> MakeW4A8Linear(const at::Tensor& codes,
                                                   const at::Tensor& scales,
                                                   const c10::optional<at::Tensor>& zeros,
                                                   int64_t group_size,
                                                   const c10::optional<at::Tensor>& bias) {
  const char* cls = "quantd.W4A8Linear";
  CheckTensor(codes, at::kByte, 2, cls, "codes");
  CheckTensor(scales, at::kFloat, 2, cls, "scales");
  const int64_t out = codes.size(0), in = codes.size(1);
  TORCH_CHECK(group_size > 0, cls, ": group_size must be positive, got ", group_size);
  const int64_t groups = (in + group_size - 1) / group_size;
  TORCH_CHECK(scales.size(0) == out && scales.size(1) == groups, cls, ": scales must be [", out,
              ", ", groups, "], got ", scales.sizes());
  std::vector<uint8_t> z;
  if (zeros && zeros->defined()) {
    CheckTensor(*zeros, at::kByte, 2, cls, "zeros");
    TORCH_CHECK(zeros->sizes() == scales.sizes(), cls, ": zeros must be shaped like scales ",
                scales.sizes(), ", got ", zeros->sizes());
    z = Values<uint8_t>(*zeros);
  }
  std::vector<float> b = OptionalBias(bias, out, cls);
  return c10::make_intrusive<W4A8LinearClass>(
      Checked(PackW4A8Codes(Values<uint8_t>(codes).data(), Values<float>(scales).data(),
                            z.empty() ? nullptr : z.data(), out, in, group_size,
                            b.empty() ? nullptr : b.data()),
              cls));
}

c10::intrusive_ptr<W4A8LinearClass> QuantizeW4A8Linear(const at::Tensor& weight, int64_t group_size,
                                                       bool symmetric,
                                                       const c10::optional<at::Tensor>& bias) {
  const char* cls = "quantd.W4A8Linear";
  CheckTensor(weight, at::kFloat, 2, cls, "weight");
  const at::Tensor w = weight.contiguous();
  std::vector<float> b = OptionalBias(bias, w.size(0), cls);
  return c10::make_intrusive<W4A8LinearClass>(
      Checked(PackW4A8(w.data_ptr<float>(), w.size(0), w.size(1), group_size, symmetric,
                       b.empty() ? nullptr : b.data()),
              cls));
}

at::Tensor RunW8A8Linear(const at::Tensor& x, const c10::intrusive_ptr<W8A8LinearClass>& w,
                         bool relu) {
  return RunRows(x, w->packed, relu, "quantd::w8a8_linear", &W8A8Linear);
}

at::Tensor RunW4A8Linear(const at::Tensor& x, const c10::intrusive_ptr<W4A8LinearClass>& w,
                         bool relu) {
  return RunRows(x, w->packed, relu, "quantd::w4a8_linear", &W4A8Linear);
}

W8A8State W8A8GetState(const c10::intrusive_ptr<W8A8LinearClass>& self) {
  const PackedW8A8& p = self->packed;
  return {kOpLibraryVersion, ToTensor(UnpaddedCodes(p), {p.out, p.in}, at::kChar),
          ToTensor(p.scales, {p.out}, at::kFloat),
          ToTensor(p.bias, {static_cast<int64_t>(p.bias.size())}, at::kFloat)};
}

c10::intrusive_ptr<W8A8LinearClass> W8A8SetState(W8A8State state) {
  const char* cls = "quantd.W8A8Linear";
  auto& [version, codes, scales, bias] = state;
  CheckVersion(version, cls);
  CheckTensor(codes, at::kChar, 2, cls, "codes");
  CheckTensor(scales, at::kFloat, 1, cls, "scales");
  TORCH_CHECK(scales.size(0) == codes.size(0), cls, ": scales has ", scales.size(0), " values for ",
              codes.size(0), " outputs");
  std::vector<float> b = OptionalBias(bias, codes.size(0), cls);
  return c10::make_intrusive<W8A8LinearClass>(
      Checked(PackW8A8Codes(Values<int8_t>(codes).data(), Values<float>(scales).data(),
                            codes.size(0), codes.size(1), std::move(b)),
              cls));
}

W4A8State W4A8GetState(const c10::intrusive_ptr<W4A8LinearClass>& self) {
  const PackedW4A8& p = self->packed;
  return {
      kOpLibraryVersion,
      p.in,
      p.group_size,
      ToTensor(RowChunkCodes(p), {p.out, p.in_padded / 2}, at::kByte),
      ToTensor(p.scales, {p.out, p.groups}, at::kHalf),
      ToTensor(p.zeros, {p.zeros.empty() ? 0 : p.out, p.zeros.empty() ? 0 : p.groups}, at::kByte),
      ToTensor(p.bias, {static_cast<int64_t>(p.bias.size())}, at::kFloat)};
}

c10::intrusive_ptr<W4A8LinearClass> W4A8SetState(W4A8State state) {
  const char* cls = "quantd.W4A8Linear";
  auto& [version, in, group_size, codes, scales, zeros, bias] = state;
  CheckVersion(version, cls);
  CheckTensor(codes, at::kByte, 2, cls, "codes");
  CheckTensor(scales, at::kHalf, 2, cls, "scales");
  CheckTensor(zeros, at::kByte, 2, cls, "zeros");
  TORCH_CHECK(scales.size(0) == codes.size(0), cls, ": scales has ", scales.size(0), " rows for ",
              codes.size(0), " outputs");
  TORCH_CHECK(in > 0 && in <= (int64_t{1} << 31), cls, ": width ", in, " is out of range");
  PackedW4A8 p;
  p.out = codes.size(0);
  p.in = in;
  p.group_size = group_size;
  p.in_padded = codes.size(1) * 2;
  p.codes = Values<uint8_t>(codes);
  const at::Tensor s = scales.contiguous();
  p.scales.assign(reinterpret_cast<const uint16_t*>(s.data_ptr()),
                  reinterpret_cast<const uint16_t*>(s.data_ptr()) + s.numel());
  p.zeros = Values<uint8_t>(zeros);
  p.bias = OptionalBias(bias, p.out, cls);
  return c10::make_intrusive<W4A8LinearClass>(Checked(FinishW4A8(std::move(p)), cls));
}

}  // namespace quantd::kernels
