// quantd's op library: a TorchScript module holding W8A8Linear / W4A8Linear weights runs the
// kernels' numbers, survives save and load in LibTorch, loads and gives the same numbers in
// Python after torch.ops.load_library, and without the library fails with a message that names
// it; a hostile pickled state (unknown version, -128 codes, wrong sizes, non-finite scales) is
// refused by name before any kernel sees it.
#include "worker/kernels/op_library/op_library.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <sstream>

#include "test_util/python_check.h"
#include "test_util/quantd_process.h"
#include "worker/kernels/op_library/packed_linear.h"
#include "worker/kernels/op_library/script_resolver.h"

namespace quantd::kernels {
namespace {

const std::string kLibrary = std::string(QUANTD_BIN_DIR) + "/" + kOpLibraryFile;

// Inputs both LibTorch and Python compute exactly: multiples of 1/16.
at::Tensor ExactInputs(int64_t rows, int64_t in) {
  return ((torch::arange(rows * in) % 97).to(torch::kFloat) - 48).div(16).reshape({rows, in});
}
const char* kPythonInputs =
    "((torch.arange({rows} * {in}) % 97).float() - 48).div(16).reshape({rows}, {in})";

std::string Format(std::string s, int64_t rows, int64_t in) {
  for (auto [key, value] : {std::pair{"{rows}", rows}, {"{in}", in}}) {
    for (size_t at; (at = s.find(key)) != std::string::npos;) {
      s.replace(at, std::string(key).size(), std::to_string(value));
    }
  }
  return s;
}

std::string Values(const at::Tensor& t) {
  std::ostringstream out;
  out.precision(9);
  const at::Tensor c = t.contiguous().flatten();
  for (int64_t i = 0; i < c.numel(); ++i) out << c[i].item<float>() << "\n";
  return out.str();
}

// forward(x) = (relu(w8a8(x)), w4a8(x)) with one Linear of each kind.
torch::jit::Module TwoLinears(const at::Tensor& weight, const at::Tensor& bias) {
  torch::jit::Module m("TwoLinears");
  m.register_attribute("w8", c10::getCustomClassType<c10::intrusive_ptr<W8A8LinearClass>>(),
                       c10::IValue(MakeW8A8Linear(weight, bias)));
  m.register_attribute("w4", c10::getCustomClassType<c10::intrusive_ptr<W4A8LinearClass>>(),
                       c10::IValue(QuantizeW4A8Linear(weight, 32, false, bias)));
  m.define(R"(
def forward(self, x):
    return quantd.w8a8_linear(x, self.w8, True), quantd.w4a8_linear(x, self.w4)
)",
           QuantdOpsResolver());
  return m;
}

TEST(OpLibraryTest, ModulesRunTheKernelsAndLoadBackInLibTorchAndPython) {
  torch::manual_seed(3);
  const int64_t rows = 5, in = 100, out = 13;
  const at::Tensor weight = torch::randn({out, in}) * 0.1, bias = torch::randn({out});
  torch::jit::Module m = TwoLinears(weight, bias);
  const at::Tensor x = ExactInputs(rows, in);
  auto y = m.forward({x}).toTuple();
  const at::Tensor y8 = y->elements()[0].toTensor(), y4 = y->elements()[1].toTensor();
  const at::Tensor reference = torch::addmm(bias, x, weight.t());
  EXPECT_LT((y8 - reference.relu()).abs().max().item<float>(),
            0.03 * reference.abs().max().item<float>());
  EXPECT_LT((y4 - reference).abs().max().item<float>(),
            0.15 * reference.abs().max().item<float>());  // 4-bit weights of random values

  const std::string dir = testing::MakeTempDir("quantd-ops");
  const std::string path = dir + "/model.quantd.pt";
  m.save(path);
  auto loaded = torch::jit::load(path).forward({x}).toTuple();
  EXPECT_TRUE(torch::equal(loaded->elements()[0].toTensor(), y8));
  EXPECT_TRUE(torch::equal(loaded->elements()[1].toTensor(), y4));

  auto python = testing::RunPython(
      "import torch\n"
      "torch.ops.load_library('" +
      kLibrary +
      "')\n"
      "m = torch.jit.load('" +
      path +
      "')\n"
      "y8, y4 = m(" +
      Format(kPythonInputs, rows, in) +
      ")\n"
      "for t in (y8, y4):\n"
      "    for v in t.flatten().tolist(): print('%.9g' % v)\n");
  ASSERT_TRUE(python.ok()) << python.status();
  EXPECT_EQ(*python, Values(y8) + Values(y4)) << "Python's outputs differ from LibTorch's";
}

TEST(OpLibraryTest, WithoutTheLibraryAModelSaysItNeedsIt) {
  torch::jit::Module m = TwoLinears(torch::randn({4, 64}), torch::randn({4}));
  const std::string path = testing::MakeTempDir("quantd-ops") + "/model.quantd.pt";
  m.save(path);
  auto python = testing::RunPython(
      "import sys\n"
      "sys.path.insert(0, '" +
      std::string(QUANTD_SOURCE_DIR) +
      "/client/python')\n"
      "from quantd_models import load_model\n"
      "try:\n"
      "    load_model('" +
      path +
      "')\n"
      "    print('loaded')\n"
      "except RuntimeError as e:\n"
      "    print(e)\n"
      "m = load_model('" +
      path + "', op_library='" + kLibrary +
      "')\n"
      "print(m.w8.out_features(), m.w4.group_size())\n");
  ASSERT_TRUE(python.ok()) << python.status();
  EXPECT_EQ(*python, path +
                         " runs on quantd's own kernels and needs quantd's op library "
                         "(libquantd_ops.so): pass load_model(..., "
                         "op_library='<build>/bin/libquantd_ops.so') or call "
                         "torch.ops.load_library on it before torch.jit.load\n4 32\n");
}

std::string Refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "accepted";
}

TEST(OpLibraryTest, HostileStatesAreRefusedByName) {
  const at::Tensor codes = torch::ones({2, 3}, torch::kChar), scales = torch::ones({2});
  const at::Tensor no_bias = torch::empty({0});
  EXPECT_EQ(Refusal([&] {
              W8A8SetState({kOpLibraryVersion + 1, codes, scales, no_bias});
            }),
            "quantd.W8A8Linear: the artifact's state is version 2, this op library "
            "(libquantd_ops.so) reads up to version 1; load a newer libquantd_ops.so");
  at::Tensor bad_codes = codes.clone();
  bad_codes[1][2] = -128;
  EXPECT_EQ(Refusal([&] {
              W8A8SetState({1, bad_codes, scales, no_bias});
            }),
            "quantd.W8A8Linear: w8a8: code of output 1 input 2 is -128, outside [-127, 127]");
  EXPECT_EQ(Refusal([&] {
              W8A8SetState({1, codes, torch::ones({3}), no_bias});
            }),
            "quantd.W8A8Linear: scales has 3 values for 2 outputs");
  EXPECT_EQ(Refusal([&] {
              W8A8SetState({1, codes, torch::full({2}, NAN), no_bias});
            }),
            "quantd.W8A8Linear: w8a8: scale of output 0 is not a finite positive number");
  EXPECT_EQ(Refusal([&] {
              W8A8SetState({1, codes.to(torch::kFloat), scales, no_bias});
            }),
            "quantd.W8A8Linear: codes must be Char, got Float");

  auto w4 = QuantizeW4A8Linear(torch::randn({3, 40}), 32, false, c10::nullopt);
  W4A8State good = W4A8GetState(w4);
  const W4A8State again = W4A8GetState(W4A8SetState(good));
  EXPECT_TRUE(torch::equal(std::get<3>(again), std::get<3>(good)) &&
              torch::equal(std::get<4>(again), std::get<4>(good)) &&
              torch::equal(std::get<5>(again), std::get<5>(good)))
      << "state round trip";
  auto with = [&](auto change) {
    W4A8State s = good;
    std::get<3>(s) = std::get<3>(s).clone();
    std::get<4>(s) = std::get<4>(s).clone();
    std::get<5>(s) = std::get<5>(s).clone();
    change(s);
    return Refusal([&] { W4A8SetState(s); });
  };
  EXPECT_EQ(with([](W4A8State& s) { std::get<2>(s) = 48; }),
            "quantd.W4A8Linear: w4a8: group size 48 is not 32, 64 or 128");
  EXPECT_EQ(with([](W4A8State& s) { std::get<1>(s) = 1000; }),
            "quantd.W4A8Linear: w4a8: padded width 64 does not fit width 1000");
  EXPECT_EQ(with([](W4A8State& s) { std::get<5>(s)[0][1] = 16; }),
            "quantd.W4A8Linear: w4a8: zero point of output 0 group 1 is 16, above 15");
  EXPECT_EQ(with([](W4A8State& s) { std::get<4>(s)[2][0] = INFINITY; }),
            "quantd.W4A8Linear: w4a8: scale of output 2 group 0 is not a finite fp16 value");
  EXPECT_EQ(with([](W4A8State& s) { std::get<4>(s) = std::get<4>(s).slice(1, 0, 1); }),
            "quantd.W4A8Linear: w4a8: scales has 3 values, expected 6");
  EXPECT_EQ(with([](W4A8State& s) { std::get<6>(s) = torch::ones({2}); }),
            "quantd.W4A8Linear: bias has 2 values for 3 outputs");
}

TEST(OpLibraryTest, OpsRefuseInputsThatDoNotFit) {
  auto w8 = MakeW8A8Linear(torch::randn({4, 10}), c10::nullopt);
  EXPECT_EQ(Refusal([&] {
              RunW8A8Linear(torch::randn({2, 11}), w8, false);
            }),
            "quantd::w8a8_linear: input's last dimension must be 10, got shape [2, 11]");
  EXPECT_EQ(Refusal([&] {
              RunW8A8Linear(torch::randn({2, 10}).to(torch::kDouble), w8, false);
            }),
            "quantd::w8a8_linear: input must be float32, got Double");
  EXPECT_EQ(RunW8A8Linear(torch::randn({2, 3, 10}), w8, false).sizes(), at::IntArrayRef({2, 3, 4}));
  EXPECT_EQ(Refusal([&] {
              MakeW8A8Linear(torch::full({2, 2}, NAN), c10::nullopt);
            }),
            "quantd.W8A8Linear: w8a8: weight of output 0 input 0 is not finite");
  EXPECT_EQ(Refusal([&] {
              QuantizeW4A8Linear(torch::full({2, 2}, INFINITY), 32, true, {});
            }),
            "quantd.W4A8Linear: w4a8: weight of output 0 input 0 is not finite");
}

}  // namespace
}  // namespace quantd::kernels
