#include <gtest/gtest.h>

#include <fstream>

#include "common/config_io.h"
#include "support/test_support.h"
#include "train/train_config.h"

namespace kd::config {
namespace {

std::string write_yaml(const std::string& text) {
  std::string path = test::temp_dir("config") + "/c.yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigIo, DefaultsYamlAndOverridesInPrecedenceOrder) {
  auto path = write_yaml("seed: 5\ntrain:\n  steps: 30\n  optimizer: {lr: 0.5}\n");
  auto c = load<train::JobConfig>(path, {"train.steps=40", "dist.bucket_mb=2.5"});
  EXPECT_EQ(c.seed, 5u);         // from YAML
  EXPECT_EQ(c.train.steps, 40);  // --set wins over YAML
  EXPECT_DOUBLE_EQ(c.train.optimizer.lr, 0.5);
  EXPECT_DOUBLE_EQ(c.dist.bucket_mb, 2.5);  // --set creates keys absent from the file
  EXPECT_EQ(c.train.grad_accum, 1);         // default kept
}

TEST(ConfigIo, UnknownKeyNamesItsPath) {
  auto path = write_yaml("train:\n  stepz: 3\n");
  try {
    load<train::JobConfig>(path, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'train.stepz'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

// Found by tests/fuzz (fuzz_config_yaml): a key that is not a string escaped as yaml-cpp's
// TypedBadConversion instead of the unknown-key kd::Error.
TEST(ConfigIo, NonScalarKeyIsAnUnknownKey) {
  for (const char* text : {"? [a, b]\n: 1\n", "train:\n  ? {x: 1}\n  : 2\n"}) {
    auto path = write_yaml(text);
    try {
      load<train::JobConfig>(path, {});
      FAIL() << "expected an error for " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("unknown key"), std::string::npos) << e.what();
    }
  }
}

TEST(ConfigIo, WrongTypeAndBadSyntaxAreReported) {
  auto path = write_yaml("train:\n  steps: many\n");
  EXPECT_THROW(
      {
        try {
          load<train::JobConfig>(path, {});
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("'train.steps' has value 'many'"), std::string::npos)
              << e.what();
          throw;
        }
      },
      Error);
  EXPECT_THROW(load<train::JobConfig>(write_yaml("train: [1, 2\n"), {}), Error);
  EXPECT_THROW(load<train::JobConfig>("", {"train.steps"}), Error);  // no '='
  EXPECT_THROW(load<train::JobConfig>("", {"seed.x=1"}), Error);     // scalar used as section
  EXPECT_THROW(load<train::JobConfig>("/nonexistent/c.yaml", {}), Error);
}

TEST(ConfigIo, EffectiveConfigRoundTrips) {
  auto c =
      load<train::JobConfig>("", {"train.steps=77", "run_dir=/tmp/x", "train.schedule.kind=poly"});
  std::string yaml = to_yaml(c);
  auto again = load<train::JobConfig>(write_yaml(yaml), {});
  EXPECT_EQ(again.train.steps, 77);
  EXPECT_EQ(again.run_dir, "/tmp/x");
  EXPECT_EQ(again.train.schedule.kind, "poly");
  EXPECT_EQ(to_yaml(again), yaml);
}

}  // namespace
}  // namespace kd::config
