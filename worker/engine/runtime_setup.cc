// Threads, engines and host facts.
#include "worker/engine/runtime_setup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <torch/version.h>

#include <fstream>
#include <set>
#include <sstream>

namespace quantd::worker {

void SetIntraOpThreads(int threads) {
  at::set_num_threads(threads);
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
}

int IntraOpThreads() { return at::get_num_threads(); }

std::vector<std::string> SupportedQuantizedEngines() {
  std::vector<std::string> out;
  for (at::QEngine e : at::globalContext().supportedQEngines()) {
    if (e == at::QEngine::ONEDNN) out.push_back("onednn");
    if (e == at::QEngine::QNNPACK) out.push_back("qnnpack");
    if (e == at::QEngine::FBGEMM) out.push_back("fbgemm");
  }
  return out;
}

absl::Status SelectQuantizedEngine(const std::string& name) {
  at::QEngine wanted;
  if (name == "onednn") {
    wanted = at::QEngine::ONEDNN;
  } else if (name == "qnnpack") {
    wanted = at::QEngine::QNNPACK;
  } else {
    return absl::InvalidArgumentError("engine: unknown quantized engine '" + name + "'");
  }
  for (at::QEngine e : at::globalContext().supportedQEngines()) {
    if (e == wanted) {
      at::globalContext().setQEngine(wanted);
      return absl::OkStatus();
    }
  }
  return absl::FailedPreconditionError("engine: this LibTorch build has no " + name + " engine");
}

namespace {

std::vector<std::string> ReadCpuFlags() {
  static const std::set<std::string> kInteresting = {
      "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
      "avx512_bf16", "avx_vnni", "amx_int8", "amx_bf16"};
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w) {
      if (kInteresting.count(w)) out.push_back(w);
    }
    break;
  }
  return out;
}

}  // namespace

std::vector<std::string> CpuFlags() {
  // Read once: a sandboxed task process cannot open /proc/cpuinfo after it confined itself.
  static const std::vector<std::string> kFlags = ReadCpuFlags();
  return kFlags;
}

long PeakRssBytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss * 1024L;
}

std::string TorchVersion() { return TORCH_VERSION; }

}  // namespace quantd::worker
