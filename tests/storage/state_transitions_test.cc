// The job and task state machines accept exactly their edges.
#include "storage/state_transitions.h"

#include <gtest/gtest.h>

namespace quantd::storage {
namespace {

TEST(StateTransitionsTest, JobEdges) {
  EXPECT_TRUE(CheckTransition(v1::QUEUED, v1::RUNNING).ok());
  EXPECT_TRUE(CheckTransition(v1::RUNNING, v1::SUCCEEDED).ok());
  EXPECT_TRUE(CheckTransition(v1::RUNNING, v1::QUEUED).ok());  // lease expired, requeued
  EXPECT_TRUE(CheckTransition(v1::QUEUED, v1::CANCELLED).ok());
  EXPECT_EQ(CheckTransition(v1::SUCCEEDED, v1::RUNNING).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckTransition(v1::CANCELLED, v1::SUCCEEDED).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckTransition(v1::QUEUED, v1::SUCCEEDED).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StateTransitionsTest, TaskEdges) {
  EXPECT_TRUE(CheckTransition(TaskState::kQueued, TaskState::kLeased).ok());
  EXPECT_TRUE(CheckTransition(TaskState::kLeased, TaskState::kQueued).ok());
  EXPECT_TRUE(CheckTransition(TaskState::kLeased, TaskState::kSucceeded).ok());
  EXPECT_FALSE(CheckTransition(TaskState::kSucceeded, TaskState::kLeased).ok());
  EXPECT_FALSE(CheckTransition(TaskState::kQueued, TaskState::kSucceeded).ok());
}

}  // namespace
}  // namespace quantd::storage
