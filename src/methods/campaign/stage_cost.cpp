#include "methods/campaign/stage_cost.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "common/config_io.h"
#include "data/file_globs.h"
#include "data/shard_format.h"
#include "methods/distill/distill_config.h"
#include "methods/finetune/finetune_config.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/pretrain/pretrain_task.h"
#include "methods/probing/probe_sets.h"
#include "methods/prompt/prompt_config.h"
#include "methods/relmask/relmask_config.h"
#include "methods/schubert/schubert_config.h"

namespace kd::methods::campaign {
namespace {

constexpr double kTokensPerFact = 16;  // a cloze sentence of a probe set, word pieces
constexpr int kDefaultSeq = 128;

double encoder_params(const model::BertConfig& c) {
  const double embeddings =
      double(c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * c.hidden_size;
  return std::max(1.0, double(c.num_parameters()) - embeddings);
}

// The config's struct without validate(): its inputs (an earlier stage's model) may not exist.
template <class T>
T read_config(const CampaignConfig& campaign, const StageSpec& s) {
  std::vector<std::string> sets;
  for (const auto& kv : s.sets) sets.push_back(resolve_references(campaign, kv));
  T config;
  config::Reader::read_section(
      config::load_yaml_with_overrides(resolve_references(campaign, s.config), sets), config, "",
      campaign.source + ": stages." + s.name);
  return config;
}

// Sequence length of the first shard the globs match (kDefaultSeq when none is readable yet).
int shard_seq_len(const std::vector<std::string>& globs, std::string& basis) {
  try {
    const auto files = data::expand_globs(globs);
    if (!files.empty()) return data::ShardReader(files.front()).seq_len();
  } catch (const std::exception&) {
  }
  basis += fmt::format(", T={} assumed (no shard readable yet)", kDefaultSeq);
  return kDefaultSeq;
}

// Encoder parameters plus a bert-base-uncased embedding table of that width (the all-reduced
// gradient includes it): H from N ≈ 12·L·H² is not known here, so 30522 × 256 is assumed for
// small models and 30522 × 768 from 20M encoder parameters up.
double full_params(double encoder) {
  return encoder + 30522.0 * (encoder < 2e7 ? 256 : 768);
}

// Tokens one rank processes over a data-parallel run (steps × micro-steps × batch × T); sets
// `seq` to T (from the shards when readable; `basis` says when it is assumed).
double per_rank_tokens(const train::TrainConfig& train, const DataSection& data, int& seq,
                       std::string& basis) {
  seq = shard_seq_len(data.train, basis);
  return double(train.steps) * train.grad_accum * data.batch_size * seq;
}

double flops_seconds(double flops, const CampaignConfig& c) {
  return flops / (c.rank_gflops * 1e9);
}

StageEstimate estimate_pretrain(const CampaignConfig& c, const StageSpec& s,
                                const ModelParams& params_of) {
  auto cfg = read_config<PretrainConfig>(c, s);
  StageEstimate e;
  e.per_rank_batch = true;
  e.output_params = cfg.model.dir.empty() ? encoder_params(model_config_from(cfg.model))
                                          : params_of(cfg.model.dir);
  e.sync_steps = cfg.train.steps;
  e.sync_bytes = 4 * full_params(e.output_params);
  int seq = 0;
  const double tokens = per_rank_tokens(cfg.train, cfg.data, seq, e.basis);
  e.work_s = flops_seconds(6 * e.output_params * tokens, c);
  e.basis = fmt::format("6·N·tokens, N={:.2g}, {} steps × {} × T={} per rank", e.output_params,
                        cfg.train.steps, cfg.data.batch_size, seq) +
            e.basis;
  return e;
}

StageEstimate estimate_distill(const CampaignConfig& c, const StageSpec& s,
                               const ModelParams& params_of) {
  auto cfg = read_config<DistillConfig>(c, s);
  StageEstimate e;
  e.per_rank_batch = true;
  const double teacher = params_of(cfg.teacher.dir);
  e.output_params = encoder_params(model_config_from(cfg.student));
  e.sync_steps = cfg.train.steps;
  e.sync_bytes = 4 * double(model_config_from(cfg.student).num_parameters());
  int seq = 0;
  const double tokens = per_rank_tokens(cfg.train, cfg.data, seq, e.basis);
  // Teacher forward; Tutor-KD adds a teacher pass on the pseudo sample and trains a tutor head.
  const double teacher_passes = cfg.distill.method == "tutor_kd" ? 2 : 1;
  const double per_token = 2 * teacher * teacher_passes + 6 * e.output_params;
  e.work_s = flops_seconds(per_token * tokens, c);
  e.basis = fmt::format("(2·{}·N_T + 6·N_S)·tokens, N_T={:.2g} N_S={:.2g}, {} steps × {} × T={}",
                        teacher_passes, teacher, e.output_params, cfg.train.steps,
                        cfg.data.batch_size, seq) +
            e.basis;
  return e;
}

StageEstimate estimate_schubert(const CampaignConfig& c, const StageSpec& s,
                                const ModelParams& params_of) {
  auto cfg = read_config<SchubertConfig>(c, s);
  StageEstimate e;
  e.per_rank_batch = true;
  const double n = params_of(cfg.model.dir);
  e.output_params = n * cfg.schubert.target_fraction;
  e.sync_steps = cfg.schubert.rounds * (cfg.schubert.regularise.steps + cfg.train.steps);
  e.sync_bytes = 4 * full_params(n);
  const int seq = shard_seq_len(cfg.data.train, e.basis);
  const double steps =
      double(cfg.schubert.rounds) * (cfg.schubert.regularise.steps + cfg.train.steps);
  e.work_s = flops_seconds(6 * n * steps * cfg.data.batch_size * seq, c);
  e.basis = fmt::format("6·N·tokens, N={:.2g}, {} rounds × ({} α + {} fine-tune steps) × {} × T={}",
                        n, cfg.schubert.rounds, cfg.schubert.regularise.steps, cfg.train.steps,
                        cfg.data.batch_size, seq) +
            e.basis;
  return e;
}

template <class Config>
StageEstimate estimate_probing(const CampaignConfig& c, const StageSpec& s,
                               const ModelParams& params_of, int test_passes) {
  auto cfg = read_config<Config>(c, s);
  StageEstimate e;
  const double n = params_of(cfg.model.dir);
  double facts = 0;
  try {
    const auto relations = probe_relations(cfg.probes);
    e.units = static_cast<int64_t>(relations.size());
    for (auto w : probe_work(cfg.probes, cfg.train.steps, relations, test_passes).work) facts += w;
  } catch (const std::exception&) {
    e.basis = ", probe sets not readable yet: 1 relation of 1000 facts assumed";
    facts = 1000;
  }
  // probe_work counts fact forward passes (a training fact is 3: forward + backward); a prompt
  // ensemble runs each fact once per prompt.
  double per_fact = 1;
  if constexpr (std::is_same_v<Config, PromptConfig>)
    per_fact = double(std::max<size_t>(1, cfg.prompt.inits.size()));
  e.work_s = flops_seconds(2 * n * kTokensPerFact * facts * per_fact, c);
  const std::string prompts = per_fact > 1 ? fmt::format(" × {:.0f} prompts", per_fact) : "";
  e.basis = fmt::format("2·N·16·fact passes, N={:.2g}, {:.3g} passes{} over {} relations", n, facts,
                        prompts, e.units) +
            e.basis;
  return e;
}

int64_t task_train_size(const std::string& dir) {
  try {
    std::ifstream in(dir + "/task.json");
    if (in) return nlohmann::json::parse(in).at("sizes").at("train").get<int64_t>();
  } catch (const std::exception&) {
  }
  return 0;
}

StageEstimate estimate_finetune(const CampaignConfig& c, const StageSpec& s,
                                const ModelParams& params_of) {
  auto cfg = read_config<FinetuneConfig>(c, s);
  StageEstimate e;
  const auto& f = cfg.finetune;
  e.units = int64_t(f.models.size() * f.tasks.size() * f.seeds.size());
  double flops = 0;
  for (const auto& m : f.models) {
    const std::string dir = m.rfind("random:", 0) == 0 ? m.substr(7) : m;
    for (const auto& t : f.tasks) {
      int64_t examples = task_train_size(t);
      if (examples == 0) examples = 10000;  // GLUE's own directories: a mid-size task
      const double epochs = f.epochs > 0 ? f.epochs : 1;
      flops += 6 * params_of(dir) * examples * epochs * f.max_seq_length * f.seeds.size();
    }
  }
  e.work_s = flops_seconds(flops, c);
  e.basis = fmt::format("6·N·examples·epochs·{} tokens over {} runs", f.max_seq_length, e.units);
  return e;
}

// eval-probe: --model DIR --probes DIR...
StageEstimate estimate_eval_probe(const CampaignConfig& c, const StageSpec& s,
                                  const ModelParams& params_of) {
  StageEstimate e;
  std::string model;
  double facts = 0;
  for (size_t i = 0; i + 1 < s.args.size(); ++i) {
    const std::string value = resolve_references(c, s.args[i + 1]);
    if (s.args[i] == "--model") model = value;
    if (s.args[i] == "--probes" && std::filesystem::is_directory(value))
      for (const auto& f : std::filesystem::directory_iterator(value)) {
        std::ifstream in(f.path());
        facts += std::count(std::istreambuf_iterator<char>(in), {}, '\n');
        e.units += 1;
      }
  }
  e.units = std::max<int64_t>(1, e.units);
  // Each column is a pass over the facts: the manual template; with --prompts the prompt chosen
  // on dev and the ensemble (4 prompts, prompt's default); with --masks the masked model.
  double passes = 1;
  for (const auto& a : s.args) {
    if (a == "--prompts") passes += 1 + 4;
    if (a == "--masks") passes += 1;
  }
  const double n = model.empty() ? 0 : params_of(model);
  e.work_s = flops_seconds(2 * n * kTokensPerFact * std::max(facts, 1.0) * passes, c);
  e.basis = fmt::format("2·N·16·facts, N={:.2g}, {:.0f} facts × {:.0f} pass(es)", n, facts, passes);
  return e;
}

// eval-mlm: --model DIR --data GLOB... [--max-batches B --batch-size R]: every held-out row.
StageEstimate estimate_eval_mlm(const CampaignConfig& c, const StageSpec& s,
                                const ModelParams& params_of) {
  StageEstimate e;
  std::string model;
  std::vector<std::string> globs;
  for (size_t i = 0; i < s.args.size(); ++i) {
    if (s.args[i] == "--model" && i + 1 < s.args.size())
      model = resolve_references(c, s.args[i + 1]);
    if (s.args[i] == "--data")
      for (size_t k = i + 1; k < s.args.size() && s.args[k].rfind("--", 0) != 0; ++k)
        globs.push_back(resolve_references(c, s.args[k]));
  }
  double tokens = 0;
  try {
    for (const auto& f : data::expand_globs(globs)) {
      data::ShardReader shard(f);
      tokens += double(shard.size()) * shard.seq_len();
    }
  } catch (const std::exception&) {
    e.basis = ", shards not readable yet";
  }
  const double n = model.empty() ? 0 : params_of(model);
  e.units = std::max<int64_t>(1, int64_t(tokens / (64.0 * kDefaultSeq)));  // batches of 64 rows
  e.work_s = flops_seconds(2 * n * std::max(tokens, 1.0), c);
  e.basis = fmt::format("2·N·tokens, N={:.2g}, {:.3g} held-out tokens", n, tokens) + e.basis;
  return e;
}

}  // namespace

double encoder_params(const model::BertConfig& c) {
  const double embeddings =
      double(c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * c.hidden_size;
  return std::max(1.0, double(c.num_parameters()) - embeddings);
}

double StageEstimate::all_reduce_s(int ranks) const {
  if (ranks <= 1 || sync_bytes <= 0) return 0;
  const double p = ranks;
  return 2 * (p - 1) * link_latency_s + 2 * (p - 1) / p * sync_bytes / link_bytes_per_s;
}

double StageEstimate::duration_s(int ranks) const {
  if (per_rank_batch) return work_s + double(sync_steps) * all_reduce_s(ranks);
  return work_s / double(std::max<int64_t>(1, std::min<int64_t>(ranks, units)));
}

StageEstimate estimate_stage(const CampaignConfig& campaign, const StageSpec& stage,
                             const ModelParams& params_of) {
  // Reading the stage's config here also refuses an unknown key or a bad value before anything
  // runs; inputs that do not exist yet (an earlier stage's output) only fall back to defaults.
  StageEstimate e;
  const std::string& cmd = stage.command;
  if (cmd == "pretrain") {
    e = estimate_pretrain(campaign, stage, params_of);
  } else if (cmd == "distill") {
    e = estimate_distill(campaign, stage, params_of);
  } else if (cmd == "schubert") {
    e = estimate_schubert(campaign, stage, params_of);
  } else if (cmd == "relmask") {
    e = estimate_probing<RelmaskConfig>(campaign, stage, params_of, 2);
  } else if (cmd == "prompt") {
    e = estimate_probing<PromptConfig>(campaign, stage, params_of, 1);
  } else if (cmd == "finetune") {
    e = estimate_finetune(campaign, stage, params_of);
  } else if (cmd == "eval-probe") {
    e = estimate_eval_probe(campaign, stage, params_of);
  } else if (cmd == "eval-mlm") {
    e = estimate_eval_mlm(campaign, stage, params_of);
  } else {
    e.work_s = 1;
    e.basis = "no cost model for this command: 1 s assumed";
  }
  if (stage.cost_s > 0) {
    e.work_s = stage.cost_s;
    e.basis = "cost_s from the campaign file";
  }
  e.link_latency_s = campaign.link_latency_us * 1e-6;
  e.link_bytes_per_s = campaign.link_gbytes_per_s * 1e9;
  return e;
}

}  // namespace kd::methods::campaign
