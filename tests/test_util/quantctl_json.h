// quantctl's --json output in integration tests: the job document it prints last, and submit +
// wait in one call.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "test_util/quantd_process.h"

namespace quantd::testing {

// The last JSON document quantctl printed (--wait prints events to stderr, the job last).
inline nlohmann::json LastJson(const std::string& out) {
  size_t at = out.rfind("\n{");
  return nlohmann::json::parse(out.substr(at == std::string::npos ? 0 : at + 1));
}

// `quantctl ARGS --wait --json` against `address`, expecting `expect_exit`; the final job.
inline nlohmann::json SubmitAndWait(const std::string& address, const std::string& args,
                                    int expect_exit = 0) {
  CommandResult r = RunQuantctl(address, args + " --wait --json");
  EXPECT_EQ(r.exit_code, expect_exit) << args << "\n" << r.out << r.err;
  if (r.out.find('{') == std::string::npos) return nlohmann::json::object();
  return LastJson(r.out);
}

}  // namespace quantd::testing
