// The kind table: every row of quantd/job_kinds.def has a planner that matches it, and the names
// every side uses come from it.
#include "server/scheduler/job_kinds.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/ascii.h"

namespace quantd::server {
namespace {

TEST(JobKindsTest, EveryRowHasAMatchingPlannerAndItsOwnOneofField) {
  std::set<std::string> fields;
  ASSERT_EQ(JobKinds().size(), JobKindRows().size());
  for (const JobKindInfo& k : JobKinds()) {
    SCOPED_TRACE(std::string(k.row->name));
    EXPECT_TRUE(k.planner.resolve && k.planner.plan);
    EXPECT_EQ(k.row->leaderboard, bool(k.planner.rank));
    // The row's name is the spec's oneof field of that case, so messages name a real field.
    const auto* field = v1::JobSpec::descriptor()->FindFieldByNumber(k.row->spec_case);
    ASSERT_NE(field, nullptr);
    EXPECT_EQ(field->name(), k.row->name);
    EXPECT_EQ(field->containing_oneof()->name(), "kind");
    EXPECT_TRUE(fields.insert(field->name()).second);
    // And the JobKind enum value carries the same name.
    EXPECT_EQ(absl::AsciiStrToLower(v1::JobKind_Name(k.row->kind)), k.row->name);
  }
}

TEST(JobKindsTest, NamesResolveInAnyCase) {
  ASSERT_NE(FindJobKindByName("Head_To_Head"), nullptr);
  EXPECT_EQ(FindJobKindByName("HEAD_TO_HEAD")->kind, v1::HEAD_TO_HEAD);
  EXPECT_EQ(FindJobKindByName("ptq-x"), nullptr);
  EXPECT_EQ(JobKindName(v1::QAT), "qat");
  EXPECT_EQ(JobKindName(v1::JOB_KIND_UNSPECIFIED), "unknown");
  EXPECT_EQ(JobKindNameList(), "ptq, qat, head_to_head, crossover_search, validate, "
                               "weight_only_llm, export");
}

TEST(JobKindsTest, ASpecWithoutAKindIsRefusedListingTheKinds) {
  v1::JobSpec none;
  auto missing = KindOf(none);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("one of ptq, qat"), std::string::npos);
  v1::JobSpec qat;
  qat.mutable_qat();
  ASSERT_TRUE(KindOf(qat).ok());
  EXPECT_EQ((*KindOf(qat))->row->kind, v1::QAT);
}

}  // namespace
}  // namespace quantd::server
