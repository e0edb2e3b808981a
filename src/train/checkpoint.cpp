#include "train/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "common/check.h"
#include "common/file_io.h"
#include "common/log.h"

namespace kd::train {
namespace fs = std::filesystem;

namespace {
bool is_complete(const fs::path& dir) {
  return fs::is_directory(dir) && fs::exists(dir / "trainer_state.json");
}
}  // namespace

std::string checkpoints_dir(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoints").string();
}

std::string checkpoint_name(int64_t step) {
  return fmt::format("step_{:08d}", step);
}

namespace {
// The complete step_N checkpoints under root, oldest first (the names sort by step: zero-padded).
// Resume and pruning look at the same list, so pruning never keeps a damaged directory in place
// of a complete one.
std::vector<fs::path> complete_checkpoints(const fs::path& root) {
  std::vector<fs::path> dirs;
  if (!fs::is_directory(root)) return dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    const auto name = e.path().filename().string();
    if (name.rfind("step_", 0) == 0 && name.find('.') == std::string::npos && is_complete(e.path()))
      dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}
}  // namespace

std::optional<std::string> find_resume_checkpoint(const std::string& run_dir,
                                                  const std::string& resume) {
  if (resume == "never") return std::nullopt;
  if (resume != "auto") {
    KD_CHECK_HINT(is_complete(resume),
                  "point resume: at a checkpoint directory (with trainer_state.json)",
                  "resume: '{}' is not a complete checkpoint", resume);
    return resume;
  }
  const fs::path root = checkpoints_dir(run_dir);
  const auto complete = complete_checkpoints(root);
  std::optional<fs::path> newest;
  if (!complete.empty()) newest = complete.back();
  const fs::path latest = root / "latest";
  if (fs::exists(latest)) {
    std::string name = read_file(latest.string());
    name.erase(name.find_last_not_of(" \n\r\t") + 1);
    // No complete checkpoint at all although `latest` names one: they were deleted or damaged;
    // starting again from step 0 would silently throw the run's progress away.
    KD_CHECK_HINT(newest.has_value(), "remove the run directory or set resume: never",
                  "'{}' names '{}', but no complete checkpoint is left in {}", latest.string(),
                  name, root.string());
    if (newest->filename() != name)
      log_warn("train",
               "'{}' names '{}' but the newest complete checkpoint is {}: resuming from it (a "
               "crash before `latest` moved)",
               latest.string(), name, newest->string());
  }
  if (!newest) return std::nullopt;
  return newest->string();
}

void publish_checkpoint(const std::string& tmp_dir, const std::string& final_dir,
                        const std::function<void(const char*)>& at) {
  for (const auto& e : fs::recursive_directory_iterator(tmp_dir))
    if (e.is_regular_file()) fsync_path(e.path().string());
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp_dir, final_dir);
  fsync_path(fs::path(final_dir).parent_path().string());
  if (at) at("renamed");
  write_file_atomic((fs::path(final_dir).parent_path() / "latest").string(),
                    fs::path(final_dir).filename().string() + "\n");
}

void prune_checkpoints(const std::string& run_dir, int64_t keep) {
  const auto dirs = complete_checkpoints(checkpoints_dir(run_dir));
  for (size_t i = 0; i + keep < dirs.size(); ++i) fs::remove_all(dirs[i]);
}

}  // namespace kd::train
