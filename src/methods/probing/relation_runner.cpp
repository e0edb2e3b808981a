#include "methods/probing/relation_runner.h"

#include <filesystem>
#include <sstream>

#include "common/file_io.h"
#include "common/json_file.h"
#include "common/log.h"
#include "common/signals.h"
#include "dist/collective_watchdog.h"
#include "methods/probing/relation_split.h"
#include "train/checkpoint.h"

namespace kd::methods::probing {
namespace fs = std::filesystem;

RelationsOutcome run_relations(const std::vector<std::string>& relations,
                               const std::vector<int64_t>& work, dist::Communicator& comm,
                               const std::string& run_dir, const char* log_tag,
                               const TrainRelation& train, const UnitNaming& naming) {
  const auto split = split_relations(work, comm.size());
  const int group = split.group_of_rank(comm.rank());
  std::shared_ptr<dist::Communicator> group_comm = comm.split(group, comm.rank());
  log_info(log_tag, "{} {} over {} group(s) of ranks", relations.size(), naming.dir, split.groups);
  const fs::path results = fs::path(run_dir) / naming.dir;
  fs::create_directories(results);
  std::string mine;  // this group's results (group root only), one JSON per line
  bool stopped = false;
  int64_t steps_before = 0;
  for (size_t r : split.relations_of(group)) {
    const auto& name = relations[r];
    const auto path = (results / (name + ".json")).string();
    nlohmann::json result;
    if (fs::exists(path)) {
      result = read_json_file(path, "delete it to train that relation again");
      log_all(log_tag, "{}: done in an earlier run, kept", name);
    } else {
      // A signal that arrived while the previous relation was being evaluated: start no other.
      const double stop_here = stop_requested() ? 1.0 : 0.0;
      if (group_comm->allreduce_scalar(stop_here, dist::ReduceOp::Max) > 0) {
        stopped = true;
        break;
      }
      log_all(log_tag, "{}: training with {} rank(s)", name, group_comm->size());
      auto trained = train({r, naming.dir, group_comm, steps_before});
      if (!trained) {
        log_all(log_tag, "{}: stopped by a signal, checkpointed; a re-run resumes it", name);
        stopped = true;
        break;
      }
      result = std::move(*trained);
      if (group_comm->is_root()) {
        write_file_atomic(path, result.dump(1) + "\n");
        // The result and the relation's mask/prompt file are what remain; its training
        // checkpoints (moments included) would only take space.
        fs::remove_all(fs::path(train::checkpoints_dir((results / name).string())));
      }
    }
    steps_before += result.value("steps", int64_t{0});
    if (group_comm->is_root()) mine += result.dump() + "\n";
  }
  RelationsOutcome out;
  // Groups finish their relations at different times: the first may wait here for hours.
  dist::UnboundedWaitScope other_groups;
  auto all = comm.gather_strings(mine, 0);
  out.report = nlohmann::json::array();
  for (const auto& part : all) {
    std::istringstream lines(part);
    for (std::string l; std::getline(lines, l);)
      if (!l.empty()) out.report.push_back(nlohmann::json::parse(l));
  }
  std::sort(out.report.begin(), out.report.end(),
            [&](const auto& a, const auto& b) { return a[naming.key] < b[naming.key]; });
  out.stopped = comm.allreduce_scalar(stopped ? 1.0 : 0.0, dist::ReduceOp::Max) > 0;
  if (out.stopped)
    log_info(log_tag, "stopped by a signal: {} of the {} finished and kept; re-run to resume",
             out.report.size(), naming.dir);
  return out;
}

train::TrainResult train_relation_steps(const train::JobConfig& command,
                                        const std::string& config_yaml, const std::string& relation,
                                        int64_t steps, uint64_t seed, const RelationContext& ctx,
                                        train::TrainingTask& task) {
  train::JobConfig job = command;
  job.run_dir = (fs::path(command.run_dir) / ctx.units_dir / relation).string();
  job.train.steps = steps;
  job.seed = seed;
  job.resume = command.resume == "never" ? "never" : "auto";
  const int64_t stop_at = command.debug.stop_after_step;
  job.debug.stop_after_step = stop_at > ctx.steps_before ? stop_at - ctx.steps_before : -1;
  if (ctx.group->is_root()) fs::create_directories(job.run_dir);
  ctx.group->barrier();
  train::TrainerOptions options;
  options.label = relation;
  return train::Trainer(job, config_yaml, ctx.group, task, options).run();
}

}  // namespace kd::methods::probing
