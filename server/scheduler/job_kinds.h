// The scheduler's view of the kind table (quantd/job_kinds.def): each row with its planner.
#pragma once

#include <span>

#include "quantd/job_kind_catalog.h"
#include "server/scheduler/kind_planner.h"

namespace quantd::server {

struct JobKindInfo {
  const JobKindRow* row;
  KindPlanner planner;
};

std::span<const JobKindInfo> JobKinds();
// The row for the spec's oneof case; INVALID_ARGUMENT if none is set, UNIMPLEMENTED for a kind
// the table has no row for yet.
absl::StatusOr<const JobKindInfo*> KindOf(const v1::JobSpec& spec);
// The table row of a kind; null for a value the table does not know.
const JobKindInfo* KindInfo(v1::JobKind kind);

}  // namespace quantd::server
