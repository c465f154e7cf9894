// Manifest JSON assembly.
#include "worker/handlers/manifest.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <ctime>

#include "worker/engine/runtime_setup.h"

namespace quantd::worker {

void PhaseTimer::Start(const std::string& phase) {
  auto now = std::chrono::steady_clock::now();
  if (!current_.empty()) {
    done_ms_.emplace_back(current_,
                          std::chrono::duration<double, std::milli>(now - started_).count());
  }
  current_ = phase;
  started_ = now;
}

nlohmann::ordered_json PhaseTimer::ToJson() {
  Start("");
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  double total = 0;
  for (const auto& [phase, ms] : done_ms_) {
    out[phase] = ms;
    total += ms;
  }
  out["total"] = total;
  return out;
}

void RecordInputData(const std::string& role, const v1::InputData& data, ManifestInputs* out) {
  switch (data.source_case()) {
    case v1::InputData::kNpySha256: out->input_sha256[role] = data.npy_sha256(); break;
    case v1::InputData::kNpzSha256: out->input_sha256[role] = data.npz_sha256(); break;
    case v1::InputData::kSynthetic: out->seeds["synthetic_" + role] = data.synthetic().seed(); break;
    case v1::InputData::SOURCE_NOT_SET: break;
  }
  if (!data.labels_npy_sha256().empty()) {
    out->input_sha256[role == "inputs" ? "labels" : role + "_labels"] = data.labels_npy_sha256();
  }
}

nlohmann::ordered_json BuildManifest(const v1::Task& task, const std::string& worker_id,
                                     const ManifestInputs& inputs, PhaseTimer& timer) {
  nlohmann::ordered_json m;
  m["schema_version"] = "1.0";
  m["job_id"] = task.job_id();
  m["task_id"] = task.id();
  m["kind"] = v1::JobKind_Name(task.kind());
  std::string spec_json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(task.spec(), &spec_json, opts);
  m["resolved_spec"] = nlohmann::ordered_json::parse(spec_json);
  m["inputs"] = nlohmann::ordered_json::object();
  for (const auto& [role, sha] : inputs.input_sha256) m["inputs"][role] = {{"sha256", sha}};
  m["outputs"] = nlohmann::ordered_json::object();
  for (const auto& o : inputs.outputs) {
    m["outputs"][o.name()] = {{"sha256", o.sha256()}, {"size", o.size()},
                              {"media_type", o.media_type()}};
  }
  m["seeds"] = inputs.seeds;
  m["versions"] = {{"quantd", QUANTD_VERSION},
                   {"libtorch", TorchVersion()},
                   {"grpc", grpc::Version()},
                   {"protobuf", google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)}};
  m["worker_id"] = worker_id;
  m["attempt"] = task.attempt();
  m["timings_ms"] = timer.ToJson();
  for (auto it = inputs.extra.begin(); it != inputs.extra.end(); ++it) m[it.key()] = it.value();
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  m["created_at"] = buf;
  return m;
}

}  // namespace quantd::worker
