// Ranked kinds: a winner succeeds the job; finished candidates but no winner is GATE_FAILED
// (every artifact kept); no candidate finished at all fails with the first failure's kind.
#include "server/scheduler/job_kind_policy.h"

#include "server/scheduler/job_kinds.h"

namespace quantd::server {
bool JobKindPolicy::KeepsSiblingsOnFailure(v1::JobKind kind) const {
  const JobKindInfo* row = KindInfo(kind);
  return row && row->row->leaderboard;
}

storage::JobVerdict JobKindPolicy::Finish(const v1::Job& job,
                                          const std::vector<storage::TaskSummary>& tasks) const {
  const JobKindInfo* row = KindInfo(job.kind());
  if (!row || !row->row->leaderboard) return {};
  v1::Leaderboard board = row->planner.rank(job, tasks);
  std::vector<storage::JobDocument> documents;
  if (row->planner.manifest) {
    documents.push_back({"manifest", "application/json", row->planner.manifest(job, board)});
  }
  if (tasks.size() == 1 && tasks[0].state != storage::TaskState::kSucceeded) {
    // A ranked job of one task (one setting): its failure is the job's, word for word.
    return {v1::FAILED,
            tasks[0].failure_kind == v1::FAILURE_KIND_UNSPECIFIED ? v1::ENGINE_ERROR
                                                                  : tasks[0].failure_kind,
            tasks[0].error, std::move(documents)};
  }
  if (!board.winner().empty()) {
    return {v1::SUCCEEDED, v1::FAILURE_KIND_UNSPECIFIED, board.decision(), std::move(documents)};
  }
  for (const auto& t : tasks) {
    if (t.state == storage::TaskState::kSucceeded) {
      return {v1::FAILED, v1::GATE_FAILED, board.decision(), std::move(documents)};
    }
  }
  v1::FailureKind kind = v1::ENGINE_ERROR;
  for (const auto& t : tasks) {
    if (t.failure_kind != v1::FAILURE_KIND_UNSPECIFIED) {
      kind = t.failure_kind;
      break;
    }
  }
  return {v1::FAILED, kind, board.decision(), std::move(documents)};
}

}  // namespace quantd::server
