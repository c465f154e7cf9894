// .npy parsing against bytes written the way NumPy writes them.
#include "worker/data/npy_array.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "test_util/npy_bytes.h"

namespace quantd::worker {
namespace {

std::string Npy(const std::string& descr, const std::string& shape, const std::string& data,
                bool fortran = false) {
  return testing::NpyBytes(descr, shape, data, fortran);
}

std::string Floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

TEST(NpyArrayTest, ReadsFloat32Matrix) {
  auto a = ParseNpy(Npy("<f4", "(2, 3)", Floats({1, 2, 3, 4, 5, 6})), "inputs");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  auto f = NpyToFloat32(*a, "inputs");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[5], 6.0f);
}

TEST(NpyArrayTest, ReadsInt64LabelsAndOneDimShapes) {
  std::vector<int64_t> ids = {3, 1, 4};
  auto a = ParseNpy(Npy("<i8", "(3,)", std::string(reinterpret_cast<char*>(ids.data()), 24)), "l");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(*NpyToInt64(*a, "l"), ids);
  EXPECT_EQ(NpyToFloat32(*a, "l").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NpyArrayTest, RejectsWithTheFieldAndTheDefect) {
  auto s = ParseNpy("not numpy at all", "ptq.inputs.npy_sha256").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ptq.inputs.npy_sha256"), std::string::npos);
  EXPECT_NE(s.message().find("magic"), std::string::npos);

  s = ParseNpy(Npy(">f4", "(1,)", Floats({1})), "x").status();
  EXPECT_NE(s.message().find("dtype '>f4'"), std::string::npos) << s;

  s = ParseNpy(Npy("<f4", "(2, 2)", Floats({1, 2, 3, 4}), true), "x").status();
  EXPECT_NE(s.message().find("Fortran"), std::string::npos) << s;

  s = ParseNpy(Npy("<f4", "(2, 2)", Floats({1, 2, 3})), "x").status();
  EXPECT_NE(s.message().find("need 16 data bytes, file has 12"), std::string::npos) << s;
}

TEST(NpyArrayTest, NonFiniteValuesAreRejectedWithTheirIndex) {
  auto a = ParseNpy(Npy("<f4", "(3,)", Floats({1, NAN, 2})), "x");
  ASSERT_TRUE(a.ok());
  auto s = NpyToFloat32(*a, "ptq.inputs").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("element 1 is NaN"), std::string::npos) << s;
  a = ParseNpy(Npy("<f4", "(1,)", Floats({INFINITY})), "x");
  EXPECT_NE(NpyToFloat32(*a, "x").status().message().find("infinite"), std::string::npos);
}

TEST(NpyArrayTest, ShapesMustBeTuplesOfNonNegativeIntegers) {
  std::string data = Floats({1, 2, 3, 4, 5, 6, 7, 8});
  auto negative = ParseNpy(Npy("<f4", "(-1, 8)", data), "ptq.inputs.npy_sha256");
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("negative dimension -1"), std::string::npos)
      << negative.status();
  EXPECT_NE(negative.status().message().find("ptq.inputs.npy_sha256"), std::string::npos);
  for (const char* shape : {"(1,, 8)", "(1.5, 8)", "(8, x)", "(,)"}) {
    auto bad = ParseNpy(Npy("<f4", shape, data), "inputs");
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << shape;
  }
  auto ok = ParseNpy(Npy("<f4", "(8,)", data), "inputs");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->shape, (std::vector<int64_t>{8}));
  auto spaced = ParseNpy(Npy("<f4", "( 1 , 8 )", data), "inputs");
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(spaced->shape, (std::vector<int64_t>{1, 8}));
}

TEST(NpyArrayTest, StructuredDtypesAreRefusedByName) {
  // As NumPy writes np.zeros(2, dtype=[('a', '<f4'), ('b', '<f4')]).
  std::string bytes = testing::NpyWithHeader(
      "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (2,), }",
      std::string(16, '\0'));
  auto a = ParseNpy(bytes, "ptq.inputs.npy_sha256");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("structured dtypes"), std::string::npos) << a.status();
}

}  // namespace
}  // namespace quantd::worker
