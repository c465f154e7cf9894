// The job store's per-kind rules, read from the job-kind table: ranked kinds keep running when
// one task fails and end by their leaderboard; every other kind ends when its tasks do.
#pragma once

#include "storage/job_store.h"

namespace quantd::server {

class JobKindPolicy : public storage::JobPolicy {
 public:
  bool KeepsSiblingsOnFailure(v1::JobKind kind) const override;
  storage::JobVerdict Finish(const v1::Job& job,
                             const std::vector<storage::TaskSummary>& tasks) const override;
};

}  // namespace quantd::server
