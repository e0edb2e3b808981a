// Checkpoint directories: run_dir/checkpoints/step_00000123/ holding
//   model/ (the model-directory contract), optimizer.safetensors, trainer_state.json
//   (step, per-rank RNG state and task state such as the data cursor), config.yaml.
// Written by rank 0 into a .tmp directory, fsynced and renamed; `latest` (a one-line file,
// replaced atomically) names the newest complete checkpoint.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "common/file_io.h"  // write_file_atomic, read_file

namespace kd::train {

std::string checkpoints_dir(const std::string& run_dir);
std::string checkpoint_name(int64_t step);
// The checkpoint that `resume` selects: auto = the newest complete step_N directory in run_dir
// (if any: normally the one `latest` names; after a crash between a checkpoint's rename and the
// update of `latest`, the newer one, with a note), never = none, else the given directory
// (which must exist and be complete). Unfinished .tmp directories are never selected.
std::optional<std::string> find_resume_checkpoint(const std::string& run_dir,
                                                  const std::string& resume);
// Marks `dir` complete: fsyncs its files, renames dir.tmp → dir and updates `latest`.
// `at("renamed")` runs between the rename and the update of `latest` (fault-injection tests).
void publish_checkpoint(const std::string& tmp_dir, const std::string& final_dir,
                        const std::function<void(const char*)>& at = {});
// Removes all but the newest `keep` complete checkpoints (a damaged or unfinished directory
// never counts as one of the kept).
void prune_checkpoints(const std::string& run_dir, int64_t keep);

}  // namespace kd::train
