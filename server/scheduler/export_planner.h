// EXPORT: spec checks and defaults (64 evaluation rows, llama.cpp's perplexity within 0.5 % of
// quantd's, 4 leading tokens of 16 agreeing) and the plan (one task). Whether the checkpoint's
// layout has an exact block in the format is the worker's to check: only it reads the files.
#pragma once

#include <vector>

#include "server/scheduler/kind_planner.h"

namespace quantd::server {

absl::Status ResolveExportSpec(v1::JobSpec* spec, storage::ArtifactIndex* artifacts);
// The export row's planner (quantd/job_kinds.def).
KindPlanner ExportPlanner();

}  // namespace quantd::server
