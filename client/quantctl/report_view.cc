// Report rendering. Missing fields print as "-": a report from an older server still reads.
#include "client/quantctl/report_view.h"

#include <cstdio>

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

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : "-"; }

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

std::string Gates(const json& r) {
  std::string out;
  const json& gates = At(r, "gates").is_array() ? r["gates"] : At(r, "verdicts");
  for (const auto& g : gates.is_array() ? gates : json::array()) {
    out += "gate      " + Text(At(g, "name")) + " " + Num(At(g, "value")) + " " +
           Text(At(g, "rule")) + " " + Num(At(g, "threshold")) + ": " +
           (At(g, "passed") == true ? "pass" : "FAIL") + "\n";
  }
  return out;
}

// A language model's report: perplexity, size against fp16, decode speed.
std::string LlmHeadline(const json& r) {
  const json& ppl = At(r, "perplexity");
  const json& size = At(r, "size");
  const json& speed = At(r, "speed");
  const json& rise = At(ppl, "rise");
  char line[512];
  std::string out;
  snprintf(line, sizeof(line), "quality   perplexity %s -> %s (%s; %s %s-bit, group %s)\n",
           Num(At(ppl, "float")).c_str(), Num(At(ppl, "quantized")).c_str(),
           Num(rise.is_number() ? json(100 * rise.get<double>()) : json(), "%+.2f%%").c_str(),
           Text(At(r, "method")).c_str(), Num(At(r, "bits"), "%.0f").c_str(),
           Num(At(r, "group_size"), "%.0f").c_str());
  out += line;
  snprintf(line, sizeof(line), "size      %s B at fp16 -> %s B (%sx of fp16)\n",
           Num(At(size, "fp16_bytes"), "%.0f").c_str(),
           Num(At(size, "quantized_bytes"), "%.0f").c_str(),
           Num(At(size, "ratio_vs_fp16"), "%.2f").c_str());
  out += line;
  snprintf(line, sizeof(line), "speed     decode %s -> %s tokens/s (%sx), batch 1\n",
           Num(At(At(speed, "float"), "decode_tokens_per_s"), "%.1f").c_str(),
           Num(At(At(speed, "quantized"), "decode_tokens_per_s"), "%.1f").c_str(),
           Num(At(speed, "decode_speedup"), "%.2f").c_str());
  out += line;
  return out;
}

// An export's report, or a GGUF file validated in llama.cpp: the file, and how its runtime
// agreed with quantd.
std::string ExportHeadline(const json& r) {
  const json& ppl = At(r, "perplexity");
  const json& diff = At(ppl, "relative_difference");
  char line[512];
  snprintf(line, sizeof(line),
           "file      %s, %s B, sha256 %s\nruntime   %s: perplexity %s vs quantd %s (%s)\n"
           "verdict   %s\n",
           Text(At(r, "format")).c_str(), Num(At(r, "bytes"), "%.0f").c_str(),
           Text(At(r, "sha256")).c_str(), Text(At(r, "runtime")).c_str(),
           Num(At(ppl, "llama_cpp")).c_str(), Num(At(ppl, "quantd")).c_str(),
           Num(diff.is_number() ? json(100 * diff.get<double>()) : json(), "%+.3f%%").c_str(),
           Text(At(r, "verdict")).c_str());
  return line;
}

// An ONNX export: the file, its agreement with the int8 TorchScript in ONNX Runtime (worst over
// optimization levels and outputs), and both runtimes' latency.
std::string OnnxHeadline(const json& r) {
  const json& worst = At(r, "worst");
  const json& ort = At(At(At(r, "levels"), "all"), "latency_ms");
  const json& ts = At(At(r, "torchscript"), "latency_ms");
  const json& within = At(worst, "within_one_step");
  char line[768];
  snprintf(line, sizeof(line),
           "file      onnx opset %s, %s B, sha256 %s\n"
           "runtime   onnxruntime %s: %s of values within one output step, worst %s steps; "
           "top-1 agreement %s; PLCC %s\n"
           "latency   batch 1 %s ms (TorchScript %s); batch 64 %s ms (TorchScript %s)\n"
           "verdict   %s\n",
           Num(At(r, "opset"), "%.0f").c_str(), Num(At(r, "bytes"), "%.0f").c_str(),
           Text(At(r, "sha256")).c_str(), Text(At(At(r, "runtime"), "version")).c_str(),
           Num(within.is_number() ? json(100 * within.get<double>()) : json(), "%.2f%%").c_str(),
           Num(At(worst, "max_output_steps"), "%.1f").c_str(),
           Num(At(worst, "top1_agreement"), "%.4f").c_str(), Num(At(worst, "plcc"), "%.4f").c_str(),
           Num(At(ort, "batch_1"), "%.3f").c_str(), Num(At(ts, "batch_1"), "%.3f").c_str(),
           Num(At(ort, "batch_64"), "%.3f").c_str(), Num(At(ts, "batch_64"), "%.3f").c_str(),
           Text(At(r, "verdict")).c_str());
  return line;
}

// Size, speed and gates: the part of the headline every report shares.
std::string Measured(const json& r) {
  std::string out;
  char line[512];
  const json& size = At(r, "size");
  if (size.is_object()) {
    // The stored ratio is quantized / float; people read "N times smaller".
    const json& before = At(size, "float_bytes");
    const json& after = At(size, "quantized_bytes");
    json smaller = before.is_number() && after.is_number() && after.get<double>() > 0
                       ? json(before.get<double>() / after.get<double>())
                       : json();
    snprintf(line, sizeof(line), "size      %s B -> %s B (%sx smaller)\n",
             Num(before, "%.0f").c_str(), Num(after, "%.0f").c_str(), Num(smaller, "%.2f").c_str());
    out += line;
  }
  const json& b1 = At(At(r, "latency"), "batch1");
  const json& tp = At(At(r, "latency"), "throughput");
  if (b1.is_object()) {
    snprintf(line, sizeof(line),
             "speed     batch 1 median %s -> %s ms (%sx); throughput @%s %s -> %s /s (%sx)\n",
             Num(At(At(b1, "float"), "median_ms")).c_str(),
             Num(At(At(b1, "quantized"), "median_ms")).c_str(),
             Num(At(b1, "speedup_vs_float"), "%.2f").c_str(), Num(At(tp, "batch"), "%.0f").c_str(),
             Num(At(tp, "float_samples_per_s"), "%.0f").c_str(),
             Num(At(tp, "quantized_samples_per_s"), "%.0f").c_str(),
             Num(At(tp, "ratio_vs_float"), "%.2f").c_str());
    out += line;
  }
  out += Gates(r);
  return out;
}

}  // namespace

std::string ReportHeadline(const json& r) {
  if (At(r, "kind") == "weight_only_llm") return LlmHeadline(r) + Gates(r);
  if (At(r, "kind") == "export" && At(r, "format") == "onnx") return OnnxHeadline(r);
  if (At(r, "kind") == "export") return ExportHeadline(r);
  if (At(r, "backend") == "llama.cpp") return ExportHeadline(r) + Gates(r);
  std::string out;
  const json& outputs = At(r, "outputs");
  if (outputs.is_object() && !outputs.empty()) {
    out += "quality   " + OutputLine(outputs.begin().key(), outputs.begin().value()) + "\n";
  }
  if (At(r, "backend") == "onnxruntime") {
    out += "runtime   onnxruntime " + Text(At(At(r, "runtime"), "version")) + ", file sha256 " +
           Text(At(r, "sha256")) + "\n";
  }
  return out + Measured(r);
}

std::string ReportText(const std::string& title, const json& r) {
  std::string out = "report    " + title + " " + Text(At(r, "kind")) +
                    (At(r, "mode").is_string() ? " " + r["mode"].get<std::string>() : "") + " (" +
                    Text(At(r, "engine")) + ")\n";
  if (At(r, "inputs").is_object())
    out += "inputs    " + Text(At(r["inputs"], "description")) + "\n";
  const json& outputs = At(r, "outputs");
  if (outputs.is_object()) {
    for (const auto& [key, o] : outputs.items()) out += OutputLine(key, o) + "\n";
  }
  out += Measured(r);
  for (const auto& note : At(r, "notes").is_array() ? r["notes"] : json::array()) {
    out += "note      " + Text(note) + "\n";
  }
  return out;
}

}  // namespace quantd::client
