// safetensors reader/writer: round trip of every dtype, and each malformed-file case gives its
// own specific error.
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "support/test_support.h"

namespace kd::model {
namespace {

// Writes a raw file: 8-byte LE length + header text + data bytes.
void write_raw(const std::string& path, const std::string& header, const std::string& data,
               int64_t claimed_len = -1) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = claimed_len >= 0 ? static_cast<uint64_t>(claimed_len) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << data;
}

std::string error_of(const std::string& path) {
  try {
    load_safetensors(path);
  } catch (const kd::Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Safetensors, RoundTripEveryDtype) {
  const std::string path = kd::test::temp_dir("st-rt") + "/t.safetensors";
  torch::manual_seed(3);
  auto f = torch::randn({3, 5});
  std::vector<std::pair<std::string, torch::Tensor>> in = {
      {"f64", f.to(torch::kDouble)},
      {"f32", f},
      {"f16", f.to(torch::kHalf)},
      {"bf16", f.to(torch::kBFloat16)},
      {"i64", torch::arange(-5, 7, torch::kLong).view({3, 4})},
      {"i32", torch::arange(-6, 6, torch::kInt)},
      {"i16", torch::arange(-3, 3, torch::kShort)},
      {"i8", torch::arange(-128, 127, 7, torch::kChar)},
      {"u8", torch::arange(0, 255, 5, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::zeros({0, 4})},
      {"strided", f.t()},  // non-contiguous input is written contiguous
  };
  save_safetensors(path, in, {{"format", "pt"}, {"step", "42"}});
  auto file = read_safetensors(path);
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.metadata.at("step"), "42");
  ASSERT_EQ(file.tensors.size(), in.size());
  for (const auto& [name, t] : in) {
    const auto& got = file.tensors.at(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, t.contiguous())) << name;
  }
}

TEST(Safetensors, HeaderIsPaddedAndOverwriteIsAtomic) {
  const std::string path = kd::test::temp_dir("st-pad") + "/t.safetensors";
  save_safetensors(path, {{"a", torch::ones({3})}});
  save_safetensors(path, {{"b", torch::zeros({2})}});  // replaces the old file
  std::ifstream in(path, std::ios::binary);
  unsigned char b[8];
  in.read(reinterpret_cast<char*>(b), 8);
  EXPECT_EQ(b[0] % 8, 0);  // header length multiple of 8 (aligned data)
  auto t = load_safetensors(path);
  EXPECT_EQ(t.count("a"), 0u);
  EXPECT_TRUE(torch::equal(t.at("b"), torch::zeros({2})));
}

TEST(Safetensors, RejectsDuplicateNames) {
  const std::string path = kd::test::temp_dir("st-dup") + "/t.safetensors";
  EXPECT_THROW(save_safetensors(path, {{"a", torch::ones({1})}, {"a", torch::ones({1})}}),
               kd::Error);
}

struct Malformed {
  const char* name;
  std::string header;
  std::string data;
  int64_t claimed_len;
  const char* expect;  // substring of the error
};

// Readable test names in ctest instead of a byte dump.
void PrintTo(const Malformed& m, std::ostream* os) {
  *os << m.name;
}

class SafetensorsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(SafetensorsMalformed, GivesSpecificError) {
  const auto& c = GetParam();
  const std::string path = kd::test::temp_dir(std::string("st-bad-") + c.name) + "/bad.safetensors";
  write_raw(path, c.header, c.data, c.claimed_len);
  const std::string err = error_of(path);
  EXPECT_NE(err.find(c.expect), std::string::npos) << "error was: " << err;
  EXPECT_NE(err.find("bad.safetensors"), std::string::npos) << "must name the file: " << err;
}

const std::string k8(8, '\0');
INSTANTIATE_TEST_SUITE_P(
    Cases, SafetensorsMalformed,
    ::testing::Values(
        Malformed{"huge_len", "{}", "", 200ll * 1000 * 1000, "absurd"},
        Malformed{"len_past_eof", "{}", "", 1000, "larger than the file"},
        Malformed{"bad_json", "{\"a\": [1, 2", "", -1, "invalid JSON"},
        Malformed{"not_object", "[1, 2]", "", -1, "not a JSON object"},
        Malformed{"unknown_dtype", R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})",
                  std::string(2, '\0'), -1, "unknown dtype 'F8'"},
        Malformed{"missing_field", R"({"a":{"dtype":"F32","shape":[2]}})", k8, -1,
                  "needs dtype, shape and data_offsets"},
        Malformed{"offsets_out_of_range",
                  R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1234", -1,
                  "out of range"},
        Malformed{"byte_size", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", k8, -1,
                  "byte size 8 != 12"},
        Malformed{"overlap",
                  R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                  k8, -1, "overlaps"},
        Malformed{"hole", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", k8, -1,
                  "do not cover the data region"},
        // 2^32 x 2^32 elements wrap a 64-bit count to 0, which would match an empty range.
        Malformed{"shape_overflow",
                  R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
                  "", -1, "overflows 64 bits"},
        Malformed{"bytes_overflow",
                  R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", "",
                  -1, "overflows 64 bits of bytes"},
        Malformed{"dim_past_int64",
                  R"({"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})", "",
                  -1, "overflows 64 bits"},
        Malformed{"trailing_bytes", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", k8,
                  -1, "do not cover the data region"}),
    [](const ::testing::TestParamInfo<Malformed>& i) { return std::string(i.param.name); });

TEST(Safetensors, ShortFileAndMissingFile) {
  const std::string dir = kd::test::temp_dir("st-short");
  {
    std::ofstream out(dir + "/short.safetensors", std::ios::binary);
    out << "abc";
  }
  EXPECT_NE(error_of(dir + "/short.safetensors").find("shorter than the 8-byte"),
            std::string::npos);
  EXPECT_NE(error_of(dir + "/none.safetensors").find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace kd::model
