// popen-based Python runner for interop checks.
#include "test_util/python_check.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "test_util/quantd_process.h"

namespace quantd::testing {

absl::StatusOr<std::string> RunPython(const std::string& script) {
  std::string dir = MakeTempDir("quantd-py");
  std::string path = dir + "/check.py";
  std::ofstream(path) << script;
  std::string cmd = std::string(QUANTD_PYTHON) + " " + path + " 2>" + dir + "/stderr.txt";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return absl::InternalError("cannot start python");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int rc = pclose(pipe);
  if (rc != 0) {
    return absl::InternalError("python failed: " + ReadFile(dir + "/stderr.txt"));
  }
  return out;
}

std::string PythonOutputStructure(const std::string& model_path, const std::string& inputs_npy) {
  auto out = RunPython(
      "import torch, numpy as np\n"
      "def sig(o):\n"
      "    if isinstance(o, torch.Tensor): return 'T'\n"
      "    if isinstance(o, tuple): return '(' + ', '.join(sig(e) for e in o) + ')'\n"
      "    if isinstance(o, list): return '[' + ', '.join(sig(e) for e in o) + ']'\n"
      "    return type(o).__name__\n"
      "m = torch.jit.load('" + model_path + "')\n"
      "x = torch.from_numpy(np.load('" + inputs_npy + "'))[:4]\n"
      "print(sig(m(x)))\n");
  if (!out.ok()) return "python failed: " + std::string(out.status().message());
  return out->substr(0, out->find('\n'));
}

}  // namespace quantd::testing
