#include "methods/campaign/campaign_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>

#include "common/check.h"
#include "common/command_registry.h"
#include "common/config_io.h"

namespace kd::methods::campaign {
namespace {

const std::set<std::string> kConfigCommands = {"pretrain", "distill",  "relmask",
                                               "prompt",   "schubert", "finetune"};
const std::set<std::string> kModelCommands = {"pretrain", "distill", "schubert"};

// ${name.key} or ${campaign_dir}
const std::regex kReference(R"(\$\{([^}]*)\})");

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << n;
  return out.c_str();
}

// `set:` as {train.steps: 5} or {train: {steps: 5}}: both become "train.steps=5".
void flatten_sets(const YAML::Node& node, const std::string& prefix,
                  std::vector<std::string>& out) {
  for (const auto& kv : node) {
    const std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    if (kv.second.IsMap())
      flatten_sets(kv.second, key, out);
    else
      out.push_back(key + "=" + scalar_text(kv.second));
  }
}

std::vector<std::string> string_list(const YAML::Node& n, const std::string& where) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) return {n.Scalar()};
  KD_CHECK(n.IsSequence(), "{} must be a list", where);
  for (const auto& item : n) out.push_back(scalar_text(item));
  return out;
}

// Every ${...} in the stage's text: (stage, key) pairs; "campaign_dir" has an empty key.
std::vector<std::pair<std::string, std::string>> references_of(const StageSpec& s) {
  std::vector<std::pair<std::string, std::string>> refs;
  std::vector<std::string> texts = s.sets;
  texts.insert(texts.end(), s.args.begin(), s.args.end());
  texts.push_back(s.config);
  for (const auto& t : texts) {
    for (std::sregex_iterator it(t.begin(), t.end(), kReference), end; it != end; ++it) {
      const std::string ref = (*it)[1];
      const auto dot = ref.find('.');
      if (dot == std::string::npos)
        refs.emplace_back(ref, "");
      else
        refs.emplace_back(ref.substr(0, dot), ref.substr(dot + 1));
    }
  }
  return refs;
}

StageSpec read_stage(const std::string& name, const YAML::Node& n, const std::string& source,
                     int world) {
  const std::string where = source + ": stages." + name;
  KD_CHECK_HINT(n.IsMap(), "write the stage as a mapping with command, config, set, needs, ranks",
                "{} must be a mapping", where);
  static const std::set<std::string> known = {"command", "config", "set",   "args",
                                              "needs",   "ranks",  "cost_s"};
  for (const auto& kv : n)
    KD_CHECK_HINT(known.count(kv.first.Scalar()),
                  "a stage has: command, config, set, args, needs, ranks, cost_s",
                  "{}: unknown key '{}'", where, kv.first.Scalar());
  StageSpec s;
  s.name = name;
  KD_CHECK(std::regex_match(name, std::regex("[A-Za-z0-9_-]+")),
           "{}: a stage name is letters, digits, '_' and '-' (it names a directory)", where);
  KD_CHECK(n["command"] && n["command"].IsScalar(), "{}: 'command' is missing", where);
  s.command = n["command"].Scalar();
  std::set<std::string> commands;
  for (const auto& c : cli::commands_of("kdprune"))
    if (c.name != "campaign") commands.insert(c.name);
  if (!commands.count(s.command)) {
    std::string list;
    for (const auto& c : commands) list += (list.empty() ? "" : ", ") + c;
    KD_FAIL("{}: unknown command '{}' (one of: {})", where, s.command, list);
  }
  if (n["config"]) s.config = n["config"].Scalar();
  KD_CHECK_HINT(s.config.empty() || s.config.find("${") != std::string::npos ||
                    std::filesystem::exists(s.config),
                "paths are relative to the directory the job starts in", "{}.config: no file '{}'",
                where, s.config);
  if (n["set"]) {
    KD_CHECK(n["set"].IsMap(), "{}.set must be a mapping of config keys to values", where);
    flatten_sets(n["set"], "", s.sets);
  }
  s.args = string_list(n["args"], where + ".args");
  s.needs = string_list(n["needs"], where + ".needs");
  if (takes_config(s.command)) {
    KD_CHECK_HINT(s.args.empty(), "put config keys under 'set'",
                  "{}: '{}' takes a config, not args", where, s.command);
    for (const auto& kv : s.sets)
      KD_CHECK_HINT(kv.rfind("run_dir=", 0) != 0, "the campaign runs it in campaign_dir/<stage>",
                    "{}: run_dir cannot be set for a stage", where);
  } else {
    KD_CHECK(s.config.empty() && s.sets.empty(), "{}: '{}' takes no config; give it args", where,
             s.command);
  }
  if (n["ranks"]) {
    const std::string r = n["ranks"].Scalar();
    if (r != "auto") {
      try {
        s.ranks = std::stoi(r);
      } catch (const std::exception&) {
        s.ranks = -1;
      }
      KD_CHECK(s.ranks >= 1 && std::to_string(s.ranks) == r,
               "{}.ranks must be a count >= 1 or auto (got '{}')", where, r);
      KD_CHECK_HINT(s.ranks <= world, "lower it, or start the job on more ranks",
                    "{}.ranks is {} but the job has {} rank(s)", where, s.ranks, world);
    }
  }
  if (n["cost_s"]) s.cost_s = n["cost_s"].as<double>();
  return s;
}

}  // namespace

bool publishes_model(const std::string& command) {
  return kModelCommands.count(command) > 0;
}
bool takes_config(const std::string& command) {
  return kConfigCommands.count(command) > 0;
}

const StageSpec& CampaignConfig::stage(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return s;
  KD_FAIL("{}: no stage '{}'", source, name);
}
bool CampaignConfig::has_stage(const std::string& name) const {
  return std::any_of(stages.begin(), stages.end(), [&](auto& s) { return s.name == name; });
}
std::string CampaignConfig::stage_dir(const std::string& name) const {
  return (std::filesystem::path(campaign_dir) / name).string();
}

CampaignConfig load_campaign(const std::string& path, const std::vector<std::string>& sets,
                             int world) {
  CampaignConfig c;
  c.source = path;
  YAML::Node root = config::load_yaml_with_overrides(path, sets);
  static const std::set<std::string> known = {
      "campaign_dir",    "on_error",          "dist",           "device", "rank_gflops", "stages",
      "failure_grace_s", "link_gbytes_per_s", "link_latency_us"};
  for (const auto& kv : root)
    KD_CHECK_HINT(known.count(kv.first.Scalar()),
                  "a campaign has: campaign_dir, on_error, dist, device, rank_gflops, "
                  "link_gbytes_per_s, link_latency_us, failure_grace_s, stages",
                  "{}: unknown key '{}'", path, kv.first.Scalar());
  if (root["campaign_dir"]) c.campaign_dir = root["campaign_dir"].Scalar();
  if (root["on_error"]) c.on_error = root["on_error"].Scalar();
  KD_CHECK(c.on_error == "abort" || c.on_error == "continue",
           "{}: on_error must be abort or continue (got '{}')", path, c.on_error);
  if (root["dist"]) {
    for (const auto& kv : root["dist"])
      KD_CHECK(kv.first.Scalar() == "backend", "{}: dist has only 'backend' (got '{}')", path,
               kv.first.Scalar());
    if (root["dist"]["backend"]) c.backend = root["dist"]["backend"].Scalar();
  }
  KD_CHECK(c.backend == "auto" || c.backend == "mpi" || c.backend == "nccl",
           "{}: dist.backend must be auto, mpi or nccl (got '{}')", path, c.backend);
  if (root["device"]) c.device = root["device"].Scalar();
  KD_CHECK(c.device == "cpu" || c.device == "cuda", "{}: device must be cpu or cuda", path);
  if (root["rank_gflops"]) c.rank_gflops = root["rank_gflops"].as<double>();
  KD_CHECK(c.rank_gflops > 0, "{}: rank_gflops must be > 0", path);
  if (root["link_gbytes_per_s"]) c.link_gbytes_per_s = root["link_gbytes_per_s"].as<double>();
  if (root["link_latency_us"]) c.link_latency_us = root["link_latency_us"].as<double>();
  KD_CHECK(c.link_gbytes_per_s > 0 && c.link_latency_us >= 0,
           "{}: link_gbytes_per_s must be > 0 and link_latency_us >= 0", path);
  if (root["failure_grace_s"]) c.failure_grace_s = root["failure_grace_s"].as<double>();
  const YAML::Node stages = root["stages"];
  KD_CHECK_HINT(stages && stages.IsMap() && stages.size() > 0,
                "list them under 'stages:' as name: {command: ..., config: ...}", "{}: no stages",
                path);
  for (const auto& kv : stages)
    c.stages.push_back(read_stage(kv.first.Scalar(), kv.second, path, world));

  // Needs and references name stages that exist; a reference is also a need.
  for (auto& s : c.stages) {
    const std::string where = path + ": stages." + s.name;
    for (const auto& need : s.needs)
      KD_CHECK(c.has_stage(need), "{}.needs: no stage '{}'", where, need);
    for (const auto& [stage, key] : references_of(s)) {
      if (key.empty()) {
        KD_CHECK(stage == "campaign_dir",
                 "{}: ${{{}}} refers to nothing (use ${{STAGE.model}}, "
                 "${{STAGE.run_dir}} or ${{campaign_dir}})",
                 where, stage);
        continue;
      }
      KD_CHECK(c.has_stage(stage), "{}: ${{{}.{}}} refers to no stage '{}'", where, stage, key,
               stage);
      KD_CHECK(key == "model" || key == "run_dir",
               "{}: ${{{}.{}}}: a stage offers .model and .run_dir", where, stage, key);
      if (stage == s.name) {  // its own directory (where an inference command writes --json)
        KD_CHECK(key == "run_dir", "{}: ${{{}.model}} is the stage's own output", where, stage);
        continue;
      }
      KD_CHECK(key != "model" || publishes_model(c.stage(stage).command),
               "{}: ${{{}.model}}: stage '{}' runs '{}', which publishes no model", where, stage,
               stage, c.stage(stage).command);
      if (std::find(s.needs.begin(), s.needs.end(), stage) == s.needs.end())
        s.needs.push_back(stage);
    }
  }
  dependency_order(c);  // refuses a cycle
  YAML::Emitter out;
  out << root;
  c.effective_yaml = out.c_str();
  return c;
}

std::vector<std::string> dependency_order(const CampaignConfig& c) {
  std::vector<std::string> order;
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<void(const StageSpec&)> visit = [&](const StageSpec& s) {
    if (state[s.name] == 2) return;
    path.push_back(s.name);
    if (state[s.name] == 1) {
      auto first = std::find(path.begin(), path.end(), s.name);
      std::string cycle;
      for (auto it = first; it != path.end(); ++it) cycle += (cycle.empty() ? "" : " -> ") + *it;
      KD_FAIL("{}: the stages' needs form a cycle: {}", c.source, cycle);
    }
    state[s.name] = 1;
    for (const auto& need : s.needs) visit(c.stage(need));
    state[s.name] = 2;
    path.pop_back();
    order.push_back(s.name);
  };
  for (const auto& s : c.stages) visit(s);
  return order;
}

std::string resolve_references(const CampaignConfig& c, const std::string& text) {
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), kReference), end; it != end; ++it) {
    out.append(last, text.cbegin() + it->position());
    const std::string ref = (*it)[1];
    const auto dot = ref.find('.');
    if (dot == std::string::npos) {
      out += c.campaign_dir;
    } else {
      const std::string dir = c.stage_dir(ref.substr(0, dot));
      out += ref.substr(dot + 1) == "model" ? dir + "/model" : dir;
    }
    last = text.cbegin() + it->position() + it->length();
  }
  out.append(last, text.cend());
  return out;
}

}  // namespace kd::methods::campaign
