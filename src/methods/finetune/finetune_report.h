// The report of a `kdprune finetune` job: every run's result aggregated per model and task over
// seeds (mean and sample standard deviation of each metric on each evaluated set), next to each
// task's majority-class baseline, as JSON and as a table.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kd::methods::finetune {

// runs: the per-run results (fields model, task, seed, evals: {set: {metric: value}}).
// tasks: {task name: {"metric", "majority": {set: scores}, ...}}. models: report order.
// Returns {"tasks", "models", "runs", "summary": [{model, task, seeds, <set>: {metric: {mean,
// sd, values}}}]}.
nlohmann::json aggregate_runs(const nlohmann::json& runs, const nlohmann::json& tasks,
                              const std::vector<std::string>& models);

// Sample mean and standard deviation (n - 1; 0 for one value).
struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& values);

// One row per model (and one for the majority baseline), one column per task: the task's metric
// on `set` (test when the task's test set is labelled, else dev) as mean ± sd over seeds.
std::string report_table(const nlohmann::json& report);

}  // namespace kd::methods::finetune
