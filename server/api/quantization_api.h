// gRPC-free bodies of QuantizationService's unary RPCs: request in, response out, Status back.
// The gRPC methods only delegate to these, convert the status and count errors.
#pragma once

#include "quantd/status.h"
#include "quantd/v1/quantization_service.pb.h"
#include "server/scheduler/scheduler.h"

namespace quantd::server {

absl::Status SubmitJobImpl(Scheduler& scheduler, const v1::SubmitJobRequest& request,
                           v1::SubmitJobResponse* response);
absl::Status GetJobImpl(Scheduler& scheduler, const v1::GetJobRequest& request,
                        v1::GetJobResponse* response);
absl::Status ListJobsImpl(Scheduler& scheduler, const v1::ListJobsRequest& request,
                          v1::ListJobsResponse* response);
absl::Status CancelJobImpl(Scheduler& scheduler, const v1::CancelJobRequest& request,
                           v1::CancelJobResponse* response);
absl::Status GetLeaderboardImpl(Scheduler& scheduler, const v1::GetLeaderboardRequest& request,
                                v1::GetLeaderboardResponse* response);

}  // namespace quantd::server
