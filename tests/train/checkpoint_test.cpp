#include <gtest/gtest.h>

#include <filesystem>

#include "common/check.h"
#include "support/test_support.h"
#include "train/checkpoint.h"
#include "train/rng_state.h"

namespace kd::train {
namespace {
namespace fs = std::filesystem;

void make_complete(const fs::path& run, int64_t step) {
  fs::path tmp = fs::path(checkpoints_dir(run.string())) / (checkpoint_name(step) + ".tmp");
  fs::create_directories(tmp);
  write_file_atomic((tmp / "trainer_state.json").string(), "{}");
  publish_checkpoint(tmp.string(),
                     (fs::path(checkpoints_dir(run.string())) / checkpoint_name(step)).string());
}

TEST(Checkpoint, AutoResumeFindsNewestCompleteCheckpoint) {
  fs::path run = test::temp_dir("ckpt");
  EXPECT_FALSE(find_resume_checkpoint(run.string(), "auto").has_value());
  make_complete(run, 5);
  make_complete(run, 10);
  // A half-written checkpoint (crash during save) is never selected.
  fs::create_directories(fs::path(checkpoints_dir(run.string())) / "step_00000015.tmp");
  auto found = find_resume_checkpoint(run.string(), "auto");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(fs::path(*found).filename(), "step_00000010");
  EXPECT_FALSE(find_resume_checkpoint(run.string(), "never").has_value());
  EXPECT_THROW(find_resume_checkpoint(run.string(), (run / "nope").string()), Error);
  prune_checkpoints(run.string(), 1);
  EXPECT_FALSE(fs::exists(fs::path(checkpoints_dir(run.string())) / "step_00000005"));
  EXPECT_TRUE(fs::exists(fs::path(checkpoints_dir(run.string())) / "step_00000010"));
}

TEST(Checkpoint, PruningCountsOnlyCompleteCheckpoints) {
  fs::path run = test::temp_dir("ckpt-prune");
  const fs::path root = checkpoints_dir(run.string());
  make_complete(run, 2);
  make_complete(run, 4);
  // Newer directories that are not checkpoints one could resume from: a damaged one (its state
  // file lost) and an unfinished .tmp.
  fs::create_directories(root / "step_00000006");
  fs::create_directories(root / "step_00000008.tmp");
  prune_checkpoints(run.string(), 1);
  EXPECT_FALSE(fs::exists(root / "step_00000002"));
  EXPECT_TRUE(fs::exists(root / "step_00000004"));  // the newest complete one is kept
  auto found = find_resume_checkpoint(run.string(), "auto");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(fs::path(*found).filename(), "step_00000004");
}

TEST(Checkpoint, ACrashBeforeLatestMovedResumesTheNewerCompleteOne) {
  fs::path run = test::temp_dir("ckpt-renamed");
  make_complete(run, 4);
  // step 8 renamed into place, then the process died before `latest` was replaced.
  fs::path tmp = fs::path(checkpoints_dir(run.string())) / "step_00000008.tmp";
  fs::create_directories(tmp);
  write_file_atomic((tmp / "trainer_state.json").string(), "{}");
  fs::rename(tmp, fs::path(checkpoints_dir(run.string())) / "step_00000008");
  auto found = find_resume_checkpoint(run.string(), "auto");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(fs::path(*found).filename(), "step_00000008");
}

TEST(Checkpoint, LatestWithNoCompleteCheckpointLeftIsAnError) {
  fs::path run = test::temp_dir("ckpt-gone");
  make_complete(run, 3);
  fs::remove_all(fs::path(checkpoints_dir(run.string())) / "step_00000003");
  try {
    find_resume_checkpoint(run.string(), "auto");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no complete checkpoint is left"), std::string::npos);
  }
}

TEST(Checkpoint, RngStateRestoresTheSameDraws) {
  torch::manual_seed(123);
  auto saved = cpu_rng_state_hex();
  auto first = torch::rand({8});
  set_cpu_rng_state_hex(saved);
  EXPECT_TRUE(torch::equal(first, torch::rand({8})));
}

}  // namespace
}  // namespace kd::train
