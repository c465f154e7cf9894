// Task resource defaults and maxima.
#include "server/scheduler/resource_limits.h"

#include <algorithm>

#include "server/scheduler/spec_fields.h"

namespace quantd::server {
namespace {
constexpr uint32_t kDefaultDeadlineS = 3600;
constexpr uint32_t kDefaultMemoryMb = 8192;
constexpr uint32_t kDefaultOpenFiles = 256;
constexpr uint32_t kMinMemoryMb = 512;  // LibTorch itself needs a few hundred MiB of address space
constexpr uint32_t kMinOpenFiles = 32;
}  // namespace

absl::Status ResolveResources(v1::ResourceLimits* r, const ResourceMaxima& maxima) {
  uint32_t deadline = r->deadline_s(), memory = r->memory_mb(), files = r->open_files();
  RETURN_IF_ERROR(DefaultAndLimit("spec.resources.deadline_s",
                                  std::min(kDefaultDeadlineS, maxima.deadline_s),
                                  maxima.deadline_s, &deadline));
  RETURN_IF_ERROR(DefaultAndLimit("spec.resources.memory_mb",
                                  std::min(kDefaultMemoryMb, maxima.memory_mb), maxima.memory_mb,
                                  &memory));
  RETURN_IF_ERROR(DefaultAndLimit("spec.resources.open_files",
                                  std::min(kDefaultOpenFiles, maxima.open_files),
                                  maxima.open_files, &files));
  if (memory < kMinMemoryMb) {
    return absl::InvalidArgumentError("spec.resources.memory_mb: " + std::to_string(memory) +
                                      " is below the " + std::to_string(kMinMemoryMb) +
                                      " MiB a task process needs to start");
  }
  if (files < kMinOpenFiles) {
    return absl::InvalidArgumentError("spec.resources.open_files: at least " +
                                      std::to_string(kMinOpenFiles));
  }
  uint32_t cpu = r->cpu_seconds();
  uint32_t max_cpu = 2 * maxima.deadline_s;
  RETURN_IF_ERROR(DefaultAndLimit("spec.resources.cpu_seconds", 2 * deadline, max_cpu, &cpu));
  r->set_deadline_s(deadline);
  r->set_memory_mb(memory);
  r->set_open_files(files);
  r->set_cpu_seconds(cpu);
  return absl::OkStatus();
}

uint32_t AttemptDeadlineSeconds(const v1::ResourceLimits& r, int64_t job_deadline_ms,
                                int64_t now_ms) {
  int64_t seconds = r.deadline_s();
  if (job_deadline_ms > 0) seconds = std::min<int64_t>(seconds, (job_deadline_ms - now_ms) / 1000);
  return static_cast<uint32_t>(std::max<int64_t>(seconds, 1));
}

}  // namespace quantd::server
