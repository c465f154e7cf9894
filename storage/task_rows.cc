// TaskRow from a task row.
#include "storage/task_rows.h"

namespace quantd::storage {

absl::StatusOr<TaskRow> ReadTask(const Statement& s) {
  TaskRow t;
  t.id = s.ColumnText(0);
  t.job_id = s.ColumnText(1);
  t.ordinal = static_cast<int>(s.ColumnInt(2));
  t.kind = static_cast<v1::JobKind>(s.ColumnInt(3));
  t.state = static_cast<TaskState>(s.ColumnInt(4));
  if (!t.payload.ParseFromString(s.ColumnText(5))) {
    return absl::DataLossError("task " + t.id + " has an unreadable payload");
  }
  t.attempts = static_cast<int>(s.ColumnInt(6));
  t.max_attempts = static_cast<int>(s.ColumnInt(7));
  t.lease_id = s.ColumnText(8);
  t.worker_id = s.ColumnText(9);
  t.lease_deadline_ms = s.ColumnInt(10);
  t.cancel_requested = s.ColumnInt(11) != 0;
  t.checkpoint_sha256 = s.ColumnText(12);
  t.checkpoint_step = static_cast<int>(s.ColumnInt(13));
  return t;
}

}  // namespace quantd::storage
