#include "methods/finetune/finetune_report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace kd::methods::finetune {

MeanSd mean_sd(const std::vector<double>& values) {
  MeanSd r;
  if (values.empty()) return r;
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  if (values.size() < 2) return r;
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  r.sd = std::sqrt(ss / static_cast<double>(values.size() - 1));
  return r;
}

nlohmann::json aggregate_runs(const nlohmann::json& runs, const nlohmann::json& tasks,
                              const std::vector<std::string>& models) {
  // (model, task) -> set -> metric -> values, in seed order
  std::map<std::pair<std::string, std::string>,
           std::map<std::string, std::map<std::string, std::vector<double>>>>
      values;
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> seeds;
  for (const auto& r : runs) {
    const auto key = std::make_pair(r["model"].get<std::string>(), r["task"].get<std::string>());
    seeds[key].push_back(r["seed"].get<int64_t>());
    for (const auto& [set, scores] : r["evals"].items())
      for (const auto& [metric, v] : scores.items()) values[key][set][metric].push_back(v);
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& model : models) {
    for (const auto& [task, info] : tasks.items()) {
      const auto key = std::make_pair(model, task);
      if (!seeds.count(key)) continue;
      nlohmann::json row = {{"model", model}, {"task", task}, {"seeds", seeds[key]}};
      for (const auto& [set, metrics] : values[key])
        for (const auto& [metric, vs] : metrics) {
          const auto m = mean_sd(vs);
          row[set][metric] = {{"mean", m.mean}, {"sd", m.sd}, {"values", vs}};
        }
      summary.push_back(row);
    }
  }
  return {{"tasks", tasks}, {"models", models}, {"runs", runs}, {"summary", summary}};
}

std::string report_table(const nlohmann::json& report) {
  const auto& tasks = report["tasks"];
  std::string out = fmt::format("{:<24}", "model");
  std::map<std::string, std::string> set_of;  // task -> the set its column shows
  for (const auto& [task, info] : tasks.items()) {
    set_of[task] = info.value("test_labelled", false) ? "test" : "dev";
    out += fmt::format(
        " {:>22}", fmt::format("{} {} {}", task, set_of[task], info["metric"].get<std::string>()));
  }
  out += "\n";
  auto cell = [](const nlohmann::json& stat) {
    return stat.is_null() ? std::string("-")
                          : fmt::format("{:.4f} ± {:.4f}", stat["mean"].get<double>(),
                                        stat["sd"].get<double>());
  };
  out += fmt::format("{:<24}", "majority class");
  for (const auto& [task, info] : tasks.items()) {
    const auto& m = info["majority"];
    const auto& set = set_of[task];
    const std::string metric = info["metric"];
    out += fmt::format(" {:>22}",
                       m.contains(set) ? fmt::format("{:.4f}", m[set][metric].get<double>()) : "-");
  }
  out += "\n";
  for (const auto& model : report["models"]) {
    out += fmt::format("{:<24}", model.get<std::string>());
    for (const auto& [task, info] : tasks.items()) {
      nlohmann::json stat;
      for (const auto& row : report["summary"])
        if (row["model"] == model && row["task"] == task && row.contains(set_of[task]))
          stat = row[set_of[task]].value(info["metric"].get<std::string>(), nlohmann::json());
      out += fmt::format(" {:>22}", cell(stat));
    }
    out += "\n";
  }
  return out;
}

}  // namespace kd::methods::finetune
