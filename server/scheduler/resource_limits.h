// What one task may use (JobSpec.resources): defaults filled in, and the scheduler's maxima
// enforced at submit, so every task a worker leases carries its limits.
#pragma once

#include <cstdint>

#include "quantd/status.h"
#include "quantd/v1/jobs.pb.h"

namespace quantd::server {

struct ResourceMaxima {
  uint32_t deadline_s = 24 * 3600;  // --max-task-seconds
  uint32_t memory_mb = 65536;       // --max-task-memory-mb
  uint32_t open_files = 4096;
};

// INVALID_ARGUMENT naming the field (spec.resources.memory_mb ...) above a maximum.
absl::Status ResolveResources(v1::ResourceLimits* r, const ResourceMaxima& maxima);

// Seconds a leased attempt may run: its deadline_s, or the time left before its job's deadline
// (0 = none) when that comes first; at least 1.
uint32_t AttemptDeadlineSeconds(const v1::ResourceLimits& r, int64_t job_deadline_ms,
                                int64_t now_ms);

}  // namespace quantd::server
