// Data files against the task's memory limit: refused by their declared size, before anything is
// allocated for them, naming the file and the limit.
#include "worker/engine/evaluation_inputs.h"

#include <gtest/gtest.h>

#include "test_util/in_memory_task_context.h"
#include "test_util/quantd_process.h"

namespace quantd::worker {
namespace {

class LimitedContext : public testing::InMemoryTaskContext {
 public:
  explicit LimitedContext(uint64_t bytes) : bytes_(bytes) {}
  uint64_t MemoryLimitBytes() const override { return bytes_; }

 private:
  uint64_t bytes_;
};

TEST(EvaluationInputsTest, ArraysLargerThanTheMemoryLimitAreRefusedByTheirHeader) {
  // qnetwork_inputs.npy is [2048, 8] float32: 64 KiB, ~192 KiB to decode.
  for (const char* file : {"qnetwork_inputs.npy", "qnetwork_inputs.npz"}) {
    SCOPED_TRACE(file);
    bool npz = std::string(file).find(".npz") != std::string::npos;
    LimitedContext tight(64 * 1024);
    v1::InputData data;
    std::string sha = tight.Add(testing::ReadFile(testing::FixturePath(file)));
    if (npz) data.set_npz_sha256(sha); else data.set_npy_sha256(sha);
    auto refused = LoadEvaluationInputs(data, tight, "ptq.inputs", "x");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
    EXPECT_NE(refused.status().message().find(npz ? "ptq.inputs.npz_sha256"
                                                  : "ptq.inputs.npy_sha256"),
              std::string::npos) << refused.status();
    EXPECT_NE(refused.status().message().find(npz ? "limit" : "spec.resources.memory_mb"),
              std::string::npos) << refused.status();

    LimitedContext roomy(uint64_t{1} << 30);
    std::string sha2 = roomy.Add(testing::ReadFile(testing::FixturePath(file)));
    if (npz) data.set_npz_sha256(sha2); else data.set_npy_sha256(sha2);
    auto loaded = LoadEvaluationInputs(data, roomy, "ptq.inputs", "x");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->samples.size(0), 2048);
  }
}

}  // namespace
}  // namespace quantd::worker
