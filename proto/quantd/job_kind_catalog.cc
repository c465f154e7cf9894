// The kind rows, expanded from quantd/job_kinds.def.
#include "quantd/job_kind_catalog.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace quantd {

std::span<const JobKindRow> JobKindRows() {
  static constexpr JobKindRow kRows[] = {
#define QUANTD_JOB_KIND(ENUM, name, Camel, leaderboard, description) \
  {v1::ENUM, #name, v1::JobSpec::k##Camel, leaderboard, description},
#include "quantd/job_kinds.def"
#undef QUANTD_JOB_KIND
  };
  return kRows;
}

const JobKindRow* FindJobKind(v1::JobKind kind) {
  for (const JobKindRow& row : JobKindRows()) {
    if (row.kind == kind) return &row;
  }
  return nullptr;
}

const JobKindRow* FindJobKind(v1::JobSpec::KindCase spec_case) {
  for (const JobKindRow& row : JobKindRows()) {
    if (row.spec_case == spec_case) return &row;
  }
  return nullptr;
}

const JobKindRow* FindJobKindByName(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(std::string(name));
  for (const JobKindRow& row : JobKindRows()) {
    if (row.name == lower) return &row;
  }
  return nullptr;
}

std::string_view JobKindName(v1::JobKind kind) {
  const JobKindRow* row = FindJobKind(kind);
  return row ? row->name : "unknown";
}

std::string JobKindNameList() {
  return absl::StrJoin(JobKindRows(), ", ",
                       [](std::string* out, const JobKindRow& row) { out->append(row.name); });
}

namespace {

// The first singular string field of the spec's kind message whose name ends in `suffix`.
std::string FirstStringField(const v1::JobSpec& spec, const std::string& suffix) {
  const auto* field = v1::JobSpec::descriptor()->FindFieldByNumber(spec.kind_case());
  if (!field || field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) return "";
  const google::protobuf::Message& kind = spec.GetReflection()->GetMessage(spec, field);
  const auto* descriptor = kind.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* f = descriptor->field(i);
    if (f->type() == google::protobuf::FieldDescriptor::TYPE_STRING && !f->is_repeated() &&
        absl::EndsWith(f->name(), suffix)) {
      return kind.GetReflection()->GetString(kind, f);
    }
  }
  return "";
}

}  // namespace

std::string ModelSha256Of(const v1::JobSpec& spec) { return FirstStringField(spec, "_sha256"); }

std::string DeclaredModelNameOf(const v1::JobSpec& spec) {
  return FirstStringField(spec, "_name");
}

}  // namespace quantd
