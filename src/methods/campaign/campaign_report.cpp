#include "methods/campaign/campaign_report.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/file_io.h"
#include "common/log.h"
#include "model/model_dir.h"

namespace kd::methods::campaign {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_json(const std::string& path) {
  try {
    if (fs::exists(path)) return nlohmann::json::parse(read_file(path));
  } catch (const std::exception&) {
  }
  return nlohmann::json::object();
}

// The value after `flag` in a stage's args ("" when absent).
std::string arg_value(const StageSpec& s, const CampaignConfig& c, const std::string& flag) {
  for (size_t i = 0; i + 1 < s.args.size(); ++i)
    if (s.args[i] == flag) return resolve_references(c, s.args[i + 1]);
  return "";
}

// Headline numbers of a stage, from the files its command writes.
nlohmann::json headlines(const CampaignConfig& c, const StageSpec& s) {
  const std::string dir = c.stage_dir(s.name);
  nlohmann::json h = nlohmann::json::object();
  const auto summary = read_json(dir + "/summary.json");
  for (const char* key :
       {"heldout_mlm_acc", "tokens_per_s", "last_loss", "end_step", "mean_test_p_at_1_mask",
        "mean_test_p_at_1_full_model", "mean_test_p_at_1_prompt", "mean_test_p_at_1_ensemble"})
    if (summary.contains(key) && summary[key].is_number()) h[key] = summary[key];
  if (fs::exists(dir + "/model/config.json")) {
    try {
      h["parameters"] = model::load_config(dir + "/model").num_parameters();
    } catch (const std::exception&) {
    }
  }
  if (summary.contains("summary") && summary["summary"].is_array()) {  // finetune
    // Each task's own metric (finetune_report.json), on test where it is labelled, else dev.
    const auto report = read_json(dir + "/finetune_report.json");
    for (const auto& row : summary["summary"]) {
      const std::string task = row.value("task", "?");
      const auto& set = row.contains("test") ? row["test"] : row.value("dev", nlohmann::json{});
      if (!set.is_object() || set.empty()) continue;
      std::string metric = set.begin().key();
      if (report.contains("tasks") && report["tasks"].contains(task))
        metric = report["tasks"][task].value("metric", metric);
      if (!set.contains(metric)) continue;
      h["downstream"][row.value("model", "?") + "/" + task] = {
          {metric, set[metric].value("mean", 0.0)}, {"sd", set[metric].value("sd", 0.0)}};
    }
  }
  const std::string json = arg_value(s, c, "--json");
  if (!json.empty()) {
    const auto r = read_json(json);
    if (s.command == "eval-probe" && r.contains("average")) {
      h["probe_p_at_1"] = r["average"].value("p_at_1", 0.0);  // every row, both template kinds
      // The manual-template rows and the held-out-template rows apart (the README's P@1).
      double sum[2] = {0, 0};
      int n[2] = {0, 0};
      const nlohmann::json relations = r.value("relations", nlohmann::json::object());
      for (const auto& [name, rel] : relations.items()) {
        const int heldout = name.find("(held-out template)") != std::string::npos;
        sum[heldout] += rel.value("p_at_1", 0.0);
        ++n[heldout];
      }
      if (n[0] > 0) h["probe_p_at_1_manual"] = sum[0] / n[0];
      if (n[1] > 0) h["probe_p_at_1_heldout_templates"] = sum[1] / n[1];
    }
    if (s.command == "eval-mlm" && r.contains("accuracy")) h["heldout_mlm_acc"] = r["accuracy"];
  }
  return h;
}

std::string headline_text(const nlohmann::json& h) {
  std::string s;
  auto add = [&](const std::string& t) { s += (s.empty() ? "" : ", ") + t; };
  if (h.contains("heldout_mlm_acc"))
    add(fmt::format("MLM acc {:.4f}", h["heldout_mlm_acc"].get<double>()));
  if (h.contains("probe_p_at_1_manual") && h.contains("probe_p_at_1_heldout_templates"))
    add(fmt::format("probe P@1 {:.4f} (held-out templates {:.4f})",
                    h["probe_p_at_1_manual"].get<double>(),
                    h["probe_p_at_1_heldout_templates"].get<double>()));
  else if (h.contains("probe_p_at_1"))
    add(fmt::format("probe P@1 {:.4f}", h["probe_p_at_1"].get<double>()));
  if (h.contains("mean_test_p_at_1_mask"))
    add(fmt::format("P@1 mask {:.4f} (full {:.4f})", h["mean_test_p_at_1_mask"].get<double>(),
                    h.value("mean_test_p_at_1_full_model", 0.0)));
  if (h.contains("mean_test_p_at_1_ensemble"))
    add(fmt::format("P@1 prompt {:.4f} ensemble {:.4f}", h.value("mean_test_p_at_1_prompt", 0.0),
                    h["mean_test_p_at_1_ensemble"].get<double>()));
  if (h.contains("parameters"))
    add(fmt::format("{:.2f}M params", h["parameters"].get<double>() / 1e6));
  if (h.contains("downstream"))
    for (const auto& [k, v] : h["downstream"].items())
      add(fmt::format("{} {} {:.3f}", k, v.begin().key(), v.begin().value().get<double>()));
  return s.empty() ? "-" : s;
}

}  // namespace

nlohmann::json campaign_report(const CampaignConfig& c, const Plan& plan) {
  nlohmann::json report = {{"campaign", c.source},
                           {"campaign_dir", c.campaign_dir},
                           {"world", plan.world},
                           {"plan", plan_json(plan)},
                           {"stages", nlohmann::json::array()}};
  double first = 0;
  for (const auto& p : plan.stages) {
    const auto j = read_json(c.stage_dir(p.name) + "/stage.json");
    for (const auto& run : j.value("runs", nlohmann::json::array()))
      if (first == 0 || run.value("started", 0.0) < first) first = run.value("started", 0.0);
  }
  report["time_zero"] = first;
  double last = first;
  for (const auto& p : plan.stages) {
    const auto& spec = c.stage(p.name);
    const auto j = read_json(c.stage_dir(p.name) + "/stage.json");
    std::string status = j.value("status", "not started");
    // A failure under on_error abort leaves "running" with the failing ranks' messages.
    std::string error =
        j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
    if (fs::exists(c.stage_dir(p.name)))
      for (const auto& f : fs::directory_iterator(c.stage_dir(p.name)))
        if (f.path().filename().string().rfind("failed.rank", 0) == 0) {
          if (status == "running") status = "failed";
          if (error.empty()) error = read_file(f.path().string());
        }
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& run : j.value("runs", nlohmann::json::array())) {
      runs.push_back({{"start_s", run.value("started", 0.0) - first},
                      {"end_s", run.value("ended", 0.0) - first},
                      {"status", run.value("status", "")}});
      last = std::max(last, run.value("ended", 0.0));
    }
    report["stages"].push_back({{"stage", p.name},
                                {"command", spec.command},
                                {"status", status},
                                {"ranks", p.ranks},
                                {"planned_start_s", p.start_s},
                                {"planned_end_s", p.end_s},
                                {"wall_s", j.value("wall_s", 0.0)},
                                {"runs", runs},
                                {"error", error},
                                {"results", headlines(c, spec)}});
  }
  report["makespan_s"] = last - first;
  return report;
}

std::string report_table(const nlohmann::json& report) {
  std::string out = fmt::format("{:<18} {:<10} {:<9} {:>7} {:>9} {:>9}  {}\n", "stage", "command",
                                "status", "ranks", "wall (s)", "tok/s", "results");
  for (const auto& s : report["stages"]) {
    const auto& ranks = s["ranks"];
    const std::string r =
        ranks.size() == 1 ? std::to_string(ranks[0].get<int>())
                          : fmt::format("{}-{}", ranks.front().get<int>(), ranks.back().get<int>());
    const auto& h = s["results"];
    const std::string tps = h.contains("tokens_per_s") && h["tokens_per_s"].get<double>() > 0
                                ? fmt::format("{:.0f}", h["tokens_per_s"].get<double>())
                                : "-";
    out +=
        fmt::format("{:<18} {:<10} {:<9} {:>7} {:>9.1f} {:>9}  {}\n", s["stage"].get<std::string>(),
                    s["command"].get<std::string>(), s["status"].get<std::string>(), r,
                    s["wall_s"].get<double>(), tps, headline_text(h));
    if (!s["error"].get<std::string>().empty())
      out += fmt::format("{:<18} error: {}\n", "", s["error"].get<std::string>());
  }
  out += fmt::format("campaign makespan {:.1f} s (planned {:.0f} s) on {} rank(s)\n",
                     report["makespan_s"].get<double>(), report["plan"]["makespan_s"].get<double>(),
                     report["world"].get<int>());
  return out;
}

void write_report(const CampaignConfig& c, const Plan& plan) {
  const auto report = campaign_report(c, plan);
  const std::string base = c.campaign_dir + "/campaign_report";
  write_file_atomic(base + ".json", report.dump(1) + "\n");
  const std::string table = report_table(report);
  write_file_atomic(base + ".txt", table);
  std::printf("== campaign report (%s.txt) ==\n%s", base.c_str(), table.c_str());
  const std::string script = std::string(KD_SOURCE_DIR) + "/launch/plot_timeline.py";
  const std::string png = c.campaign_dir + "/timeline.png";
  const std::string cmd =
      fmt::format("/usr/bin/python3 '{}' '{}.json' '{}' > /dev/null 2>&1", script, base, png);
  if (fs::exists(script) && std::system(cmd.c_str()) == 0)
    std::printf("timeline: %s\n", png.c_str());
  else
    log_warn("campaign", "no timeline PNG ({} failed; needs python3-matplotlib)", script);
  std::fflush(stdout);
}

}  // namespace kd::methods::campaign
