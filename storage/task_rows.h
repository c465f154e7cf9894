// How task rows read into TaskRow, shared by the store's files. State numbers never appear in
// SQL text: they are bound from the enums.
#pragma once

#include <cstdint>

#include "storage/job_store.h"
#include "storage/sqlite_database.h"

namespace quantd::storage {

inline int64_t Sql(TaskState state) { return static_cast<int64_t>(state); }
inline int64_t Sql(v1::JobState state) { return static_cast<int64_t>(state); }

inline constexpr char kTaskColumns[] =
    "id, job_id, ordinal, kind, state, payload, attempts, max_attempts, COALESCE(lease_id, ''), "
    "worker_id, lease_deadline_ms, cancel_requested, checkpoint_sha256, checkpoint_step";

// A row selected with kTaskColumns.
absl::StatusOr<TaskRow> ReadTask(const Statement& s);

}  // namespace quantd::storage
