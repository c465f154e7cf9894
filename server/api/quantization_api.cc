// Unary QuantizationService logic: field checks, paging, and calls into the scheduler.
#include "server/api/quantization_api.h"

#include <charconv>

namespace quantd::server {
namespace {

constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kMaxPageSize = 500;

// Page tokens are "<created_ms>.<job id>" of the last job returned (keyset paging).
std::string EncodePageToken(const v1::Job& last) {
  return std::to_string(last.created_ms()) + "." + last.id();
}

absl::StatusOr<std::pair<int64_t, std::string>> DecodePageToken(const std::string& token) {
  auto dot = token.find('.');
  int64_t created = 0;
  if (dot == std::string::npos || dot == 0) {
    return absl::InvalidArgumentError("page_token: malformed; pass next_page_token unchanged");
  }
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + dot, created);
  if (ec != std::errc() || ptr != token.data() + dot) {
    return absl::InvalidArgumentError("page_token: malformed; pass next_page_token unchanged");
  }
  return std::make_pair(created, token.substr(dot + 1));
}

}  // namespace

absl::Status SubmitJobImpl(Scheduler& scheduler, const v1::SubmitJobRequest& request,
                           v1::SubmitJobResponse* response) {
  if (!request.has_spec()) return absl::InvalidArgumentError("spec: missing");
  ASSIGN_OR_RETURN(SubmitResult result, scheduler.Submit(request.spec()));
  *response->mutable_job() = std::move(result.job);
  response->set_deduplicated(result.deduplicated);
  return absl::OkStatus();
}

absl::Status GetJobImpl(Scheduler& scheduler, const v1::GetJobRequest& request,
                        v1::GetJobResponse* response) {
  ASSIGN_OR_RETURN(*response->mutable_job(), scheduler.Get(request.job_id()));
  return absl::OkStatus();
}

absl::Status ListJobsImpl(Scheduler& scheduler, const v1::ListJobsRequest& request,
                          v1::ListJobsResponse* response) {
  if (!v1::JobState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state: unknown value " + std::to_string(request.state()));
  }
  if (!v1::JobKind_IsValid(request.kind())) {
    return absl::InvalidArgumentError("kind: unknown value " + std::to_string(request.kind()));
  }
  if (request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError("page_size: " + std::to_string(request.page_size()) +
                                      " exceeds the limit of " + std::to_string(kMaxPageSize));
  }
  storage::ListJobsQuery query;
  query.state = request.state();
  query.kind = request.kind();
  uint32_t page = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  query.limit = static_cast<int>(page) + 1;  // one extra tells whether another page exists
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(query.before, DecodePageToken(request.page_token()));
  }
  ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, scheduler.List(query));
  bool more = jobs.size() > page;
  if (more) jobs.resize(page);
  for (auto& j : jobs) *response->add_jobs() = std::move(j);
  if (more) response->set_next_page_token(EncodePageToken(response->jobs(response->jobs_size() - 1)));
  return absl::OkStatus();
}

absl::Status CancelJobImpl(Scheduler& scheduler, const v1::CancelJobRequest& request,
                           v1::CancelJobResponse* response) {
  ASSIGN_OR_RETURN(*response->mutable_job(), scheduler.Cancel(request.job_id()));
  return absl::OkStatus();
}

absl::Status GetLeaderboardImpl(Scheduler& scheduler, const v1::GetLeaderboardRequest& request,
                                v1::GetLeaderboardResponse* response) {
  ASSIGN_OR_RETURN(*response->mutable_leaderboard(),
                   scheduler.Leaderboard(request.job_id(), request.sort_by(),
                                         request.descending(), request.limit()));
  return absl::OkStatus();
}

}  // namespace quantd::server
