// quantctl report JOB [OUTPUT]: a stored validation report, readable: each output's metrics,
// size, latency and every gate with its verdict (OUTPUT defaults to "report"; "winner/report"
// and "CANDIDATE/report" work for head-to-head jobs). --json prints the report as stored.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "client/quantctl/commands.h"

namespace quantd::client {
namespace {

using json = nlohmann::json;

std::string Num(const json& v, const char* format = "%.4g") {
  if (!v.is_number()) return "-";
  char buf[64];
  snprintf(buf, sizeof(buf), format, v.get<double>());
  return buf;
}

const json& At(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::string OutputLine(const std::string& name, const json& o) {
  std::string s = name + " ";
  if (At(o, "task") == "regression") {
    const json& fit =
        At(o, "vs_labels").is_null() ? At(o, "vs_float") : At(At(o, "vs_labels"), "quantized");
    s += "regression: PLCC " + Num(At(fit, "plcc")) + ", SROCC " + Num(At(fit, "srocc")) +
         ", RMSE " + Num(At(fit, "rmse")) +
         (At(o, "vs_labels").is_null()
              ? " (vs float)"
              : " (vs labels), PLCC drop " + Num(At(At(o, "vs_labels"), "plcc_drop")));
    return s;
  }
  s += "classification: top-1 agreement " + Num(At(At(o, "top1_agreement"), "value")) + ", top-" +
       Num(At(o, "k"), "%.0f") + " " + Num(At(At(o, "topk_agreement"), "value")) + ", KL " +
       Num(At(At(o, "kl_divergence"), "value"));
  const json& acc = At(o, "task_accuracy");
  if (!acc.is_null()) {
    s += ", accuracy " + Num(At(At(acc, "float"), "value")) + " -> " +
         Num(At(At(acc, "quantized"), "value")) + " (" + Num(At(acc, "delta"), "%+.4f") + ")";
  }
  return s;
}

}  // namespace

int RunReport(CommandEnv& env, const CommandLine& cl) {
  const auto& p = cl.positional();
  if (p.size() != 2 && p.size() != 3) {
    return ReportError(env, absl::InvalidArgumentError("usage: quantctl report JOB [OUTPUT]"));
  }
  if (auto s = cl.OnlyFlags({}); !s.ok()) return ReportError(env, s);
  auto name = ResolveOutputName(env, p[1], p.size() == 3 ? p[2] : "report");
  if (!name.ok()) return ReportError(env, name.status());
  v1::DownloadArtifactRequest req;
  req.mutable_job_output()->set_job_id(p[1]);
  req.mutable_job_output()->set_name(*name);
  auto bytes = env.client->DownloadBytes(req);
  if (!bytes.ok()) return ReportError(env, bytes.status());
  if (env.json) {
    printf("%s\n", bytes->c_str());
    return kExitOk;
  }
  json r = json::parse(*bytes, nullptr, false);
  if (r.is_discarded() || !r.is_object()) {
    return ReportError(env, absl::DataLossError(*name + ": not a JSON report"));
  }
  printf("report    %s %s%s (%s)\n", p[1].c_str(),
         At(r, "kind").is_string() ? r["kind"].get<std::string>().c_str() : "",
         At(r, "mode").is_string() ? (" " + r["mode"].get<std::string>()).c_str() : "",
         At(r, "engine").is_string() ? r["engine"].get<std::string>().c_str() : "-");
  if (At(r, "inputs").is_object()) {
    printf("inputs    %s\n", At(r["inputs"], "description").is_string()
                                 ? r["inputs"]["description"].get<std::string>().c_str()
                                 : "-");
  }
  for (const auto& [key, o] :
       At(r, "outputs").is_object() ? r["outputs"].items() : json::object().items()) {
    printf("%s\n", OutputLine(key, o).c_str());
  }
  const json& size = At(r, "size");
  if (size.is_object()) {
    printf("size      %s B -> %s B (%sx)\n", Num(At(size, "float_bytes"), "%.0f").c_str(),
           Num(At(size, "quantized_bytes"), "%.0f").c_str(),
           Num(At(size, "ratio"), "%.2f").c_str());
  }
  const json& b1 = At(At(r, "latency"), "batch1");
  const json& tp = At(At(r, "latency"), "throughput");
  if (b1.is_object()) {
    printf("latency   batch 1 median %s -> %s ms (%sx); throughput @%s %s -> %s /s (%sx)\n",
           Num(At(At(b1, "float"), "median_ms")).c_str(),
           Num(At(At(b1, "quantized"), "median_ms")).c_str(),
           Num(At(b1, "speedup_vs_float"), "%.2f").c_str(), Num(At(tp, "batch"), "%.0f").c_str(),
           Num(At(tp, "float_samples_per_s"), "%.0f").c_str(),
           Num(At(tp, "quantized_samples_per_s"), "%.0f").c_str(),
           Num(At(tp, "ratio_vs_float"), "%.2f").c_str());
  }
  const json& gates = At(r, "gates").is_array() ? r["gates"] : At(r, "verdicts");
  for (const auto& g : gates.is_array() ? gates : json::array()) {
    printf("gate      %s %s %s %s: %s\n", At(g, "name").get<std::string>().c_str(),
           Num(At(g, "value")).c_str(), At(g, "rule").get<std::string>().c_str(),
           Num(At(g, "threshold")).c_str(), At(g, "passed") == true ? "pass" : "FAIL");
  }
  for (const auto& note : At(r, "notes").is_array() ? r["notes"] : json::array()) {
    printf("note      %s\n", note.get<std::string>().c_str());
  }
  return kExitOk;
}

}  // namespace quantd::client
