// `kdprune relmask`: for every relation, LAMP masks trained on its train facts (MLM cross-entropy
// at the [MASK], θ frozen, own Adam, warm-up then decay, clipping), then P@1/P@k/MRR on dev and
// test with the mask and, for comparison, the full model on test. Groups of ranks train shares
// of the relations (relation_split.h); a finished relation's result file makes a re-run skip it.
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>

#include "common/config_io.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/signals.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/probing/eval_probe.h"
#include "methods/probing/relation_runner.h"
#include "methods/relmask/mask_controls.h"
#include "methods/relmask/relation_mask_task.h"
#include "methods/relmask/relmask_config.h"
#include "methods/relmask/specialisation.h"
#include "methods/training_command.h"
#include "model/model_dir.h"
#include "text/lama_reader.h"
#include "text/pretraining_instances.h"
#include "train/trainer.h"

namespace kd::methods {
namespace fs = std::filesystem;
namespace {

nlohmann::json score_json(const ProbeScore& s) {
  return {{"facts", s.facts}, {"p_at_1", s.p_at_1()}, {"p_at_k", s.p_at_k()}, {"mrr", s.mrr()}};
}

ProbeScore score_one(model::BertForPreTraining& m, const text::WordPieceTokenizer& tok,
                     const std::vector<text::ProbeRecord>& records, const RelmaskConfig& c,
                     dist::Communicator& comm) {
  std::vector<std::string> groups(records.size(), "r");
  auto scores = score_probes(m, tok, records, groups, c.probes.top_k, 64, comm);
  return scores.empty() ? ProbeScore{} : scores.begin()->second;
}

// Trains one relation's masks on its group through the Trainer and returns its result, or nothing
// when a stop signal ended training (checkpointed; a re-run resumes it).
std::optional<nlohmann::json> train_relation(model::BertForPreTraining& m,
                                             const text::WordPieceTokenizer& tok,
                                             const RelmaskConfig& c, const std::string& config_yaml,
                                             const std::string& relation,
                                             const probing::RelationContext& ctx,
                                             const std::string& mask_path) {
  auto& comm = *ctx.group;
  const auto train_records = read_probe_split(c.probes.dir, "train", relation);
  std::vector<ProbeItem> items;
  for (const auto& r : train_records)
    if (auto it = make_probe_item(tok, r, m->config().max_position_embeddings))
      items.push_back(std::move(*it));
  KD_CHECK(!items.empty(), "relation {}: no usable training fact (single-token objects)", relation);
  const int64_t steps =
      relation_steps(c.probes, c.train.steps, static_cast<int64_t>(items.size()), comm.size());
  const size_t train_facts = items.size();
  if (comm.is_root())
    log_all("relmask", "{}: {} training facts, {} steps", relation, train_facts, steps);
  const uint64_t seed = train::derive_seed(c.seed, std::hash<std::string>{}(relation));
  const uint64_t init_seed = c.masks.shared_init ? train::derive_seed(c.seed, 0x5A1D) : seed;
  relmask::RelationMasks masks(m, c.masks, init_seed);
  const double initial_sparsity = masks.sparsity();
  if (comm.is_root() && c.masks.kind == "deterministic" && initial_sparsity > 0.99)
    log_warn("relmask",
             "{}: the masks start with {:.1f}% of the masked weights pruned (prior {}, init {}, "
             "threshold {}), so training starts from a model with those layers removed; the "
             "paper's best start is ~50% (masks.prior: normal, masks.init: 0)",
             relation, 100 * initial_sparsity, c.masks.prior, c.masks.init, c.masks.threshold);
  masks.attach(m);
  masks.set_training(true);
  relmask::RelationMaskTask task(m, masks, std::move(items), text::mix_seed(seed, 0x0D),
                                 c.probes.batch_size, comm.rank(), comm.size());
  const auto trained =
      probing::train_relation_steps(c, config_yaml, relation, steps, seed, ctx, task);
  if (trained.stopped_by_signal) {
    relmask::RelationMasks::detach(m);
    return std::nullopt;
  }
  const double last_loss = trained.last_loss;
  masks.set_training(false);
  // What training changed: entries flipped since the (re-drawn) initial masks.
  const double flipped =
      relmask::flipped_fraction(relmask::RelationMasks(m, c.masks, init_seed), masks);
  nlohmann::json r = {{"relation", relation},
                      {"train_facts", train_facts},
                      {"steps", steps},
                      {"last_loss", last_loss},
                      {"initial_sparsity", initial_sparsity},
                      {"sparsity", masks.sparsity()},
                      {"flipped", flipped},
                      {"sparsity_per_matrix", nlohmann::json::object()}};
  const auto per = masks.sparsity_per_matrix();
  for (size_t i = 0; i < per.size(); ++i) r["sparsity_per_matrix"][masks.names()[i]] = per[i];
  r["sparsity_per_layer"] = nlohmann::json::object();
  for (const auto& [layer, z] : masks.sparsity_per_layer())
    r["sparsity_per_layer"][std::to_string(layer)] = z;
  r["dev"] =
      score_json(score_one(m, tok, read_probe_split(c.probes.dir, "dev", relation), c, comm));
  const auto test = read_probe_split(c.probes.dir, "test", relation);
  r["test"] = score_json(score_one(m, tok, test, c, comm));
  // The paper's protocol: the facts the masks were trained on.
  r["train"] = score_json(score_one(m, tok, train_records, c, comm));
  if (comm.is_root()) masks.save(mask_path, c.masks.save_logits || c.masks.eval == "expectation");
  // The control: untrained random masks with each matrix's kept count of the trained ones.
  relmask::RelationMasks random(m, c.masks, 0);
  relmask::randomise_like(random, masks, relmask::control_seed(c.seed, relation));
  random.attach(m);
  random.set_training(false);
  r["test_random_mask"] = score_json(score_one(m, tok, test, c, comm));
  relmask::RelationMasks::detach(m);
  r["test_full_model"] = score_json(score_one(m, tok, test, c, comm));
  return r;
}

}  // namespace

void RelmaskProbeSection::validate() const {
  ProbeSetSection::validate();
  KD_CHECK(specialisation_facts >= 0, "probes.specialisation_facts must be >= 0 (got {})",
           specialisation_facts);
}

void RelmaskConfig::validate() const {
  train::JobConfig::validate();
  validate_relation_resume(resume);
  probes.validate();
  relmask::validate(masks);
}

int run_relmask(const RelmaskConfig& config, std::shared_ptr<dist::Communicator> world) {
  config.validate();  // also when called as a library function with a config made in code
  require_model_dir("model.dir", config.model.dir, /*with_vocab=*/true);
  require_dir("probes.dir", config.probes.dir + "/train");
  JobContext ctx = setup_job(config, config::to_yaml(config), "relmask", std::move(world));
  auto& comm = *ctx.comm;
  const std::string& config_yaml = ctx.config_yaml;
  auto frozen = load_frozen_model(config.model.dir, config.train.precision, config.device);
  auto& m = frozen.model;
  const auto& tok = frozen.tokenizer;

  const auto relations = probe_relations(config.probes);
  // Evaluation: dev with the mask, test with the mask and with the full model.
  const auto work = probe_work(config.probes, config.train.steps, relations, 2);
  log_info("relmask", "layers {}..{}, {} masks", config.masks.first_layer, config.masks.last_layer,
           config.masks.kind);
  const fs::path out = fs::path(config.run_dir);
  fs::create_directories(out / "masks");
  const auto outcome = probing::run_relations(
      relations, work.work, comm, config.run_dir, "relmask",
      [&](const probing::RelationContext& rc) {
        const auto& name = relations[rc.index];
        return train_relation(m, tok, config, config_yaml, name, rc,
                              (out / "masks" / (name + ".safetensors")).string());
      });
  if (outcome.stopped) return kExitCheckpointedOnSignal;
  const auto& report = outcome.report;
  comm.barrier();  // every mask file is written

  // Specialisation: every mask on every relation's test facts (a sample of them per cell).
  nlohmann::json special;
  if (config.probes.specialisation_facts > 0 && relations.size() > 1) {
    std::vector<std::string> files;
    std::vector<std::vector<text::ProbeRecord>> tests;
    for (const auto& name : relations) {
      files.push_back((out / "masks" / (name + ".safetensors")).string());
      auto t = read_probe_split(config.probes.dir, "test", name);
      if (static_cast<int64_t>(t.size()) > config.probes.specialisation_facts)
        t.resize(static_cast<size_t>(config.probes.specialisation_facts));
      tests.push_back(std::move(t));
    }
    special = relmask::specialisation_matrix(m, tok, config.masks, relations, files, tests,
                                             config.probes.top_k, config.seed, comm);
    std::vector<double> weights;  // frequency-weighted combination: by training facts
    for (auto t : work.train_facts) weights.push_back(static_cast<double>(t));
    const auto masks = relmask::load_masks(m, config.masks, files);
    special["combined"] = relmask::combined_mask_report(m, tok, config.masks, masks, weights, tests,
                                                        config.probes.top_k, comm);
    if (comm.is_root()) special["overlap"] = relmask::mask_overlap(masks);
  }
  if (comm.is_root()) {
    write_file_atomic((out / "relmask_report.json").string(), report.dump(1) + "\n");
    std::printf(
        "\n== relmask: test P@1 with the relation's mask, an untrained random mask of the same "
        "sparsity, the full model; dev and train (the paper's protocol) P@1 with the mask ==\n");
    std::printf("%-14s %7s %8s %8s %9s %9s %9s %9s %9s\n", "relation", "facts", "sparsity",
                "flipped", "mask P@1", "rand P@1", "full P@1", "dev P@1", "train P@1");
    // Result files of runs before these columns existed lack them: printed as nan.
    auto value = [](const nlohmann::json& r, const char* key, const char* sub = nullptr) {
      if (!r.contains(key)) return std::nan("");
      return sub ? r[key][sub].get<double>() : r[key].get<double>();
    };
    double mask_sum = 0, full_sum = 0, random_sum = 0, train_sum = 0;
    for (const auto& r : report) {
      std::printf("%-14s %7lld %8.3f %8.3f %9.4f %9.4f %9.4f %9.4f %9.4f\n",
                  r["relation"].get<std::string>().c_str(),
                  (long long)r["test"]["facts"].get<int64_t>(), r["sparsity"].get<double>(),
                  value(r, "flipped"), value(r, "test", "p_at_1"),
                  value(r, "test_random_mask", "p_at_1"), value(r, "test_full_model", "p_at_1"),
                  value(r, "dev", "p_at_1"), value(r, "train", "p_at_1"));
      mask_sum += value(r, "test", "p_at_1");
      random_sum += value(r, "test_random_mask", "p_at_1");
      full_sum += value(r, "test_full_model", "p_at_1");
      train_sum += value(r, "train", "p_at_1");
    }
    const double n = std::max<size_t>(1, report.size());
    std::printf("%-14s %7s %8s %8s %9.4f %9.4f %9.4f %9s %9.4f\n", "average", "", "", "",
                mask_sum / n, random_sum / n, full_sum / n, "", train_sum / n);
    if (!special.is_null()) {
      write_file_atomic((out / "specialisation.json").string(), special.dump(1) + "\n");
      std::printf(
          "\n== specialisation: P@1 of relation i's mask (rows) on relation j (columns), "
          "first %lld test facts ==\n%-14s",
          (long long)config.probes.specialisation_facts, "mask \\ facts");
      for (const auto& name : relations) std::printf(" %9.9s", name.c_str());
      std::printf("\n");
      for (size_t i = 0; i < relations.size(); ++i) {
        std::printf("%-14s", relations[i].c_str());
        for (double v : special["p_at_1"][i]) std::printf(" %9.4f", v);
        std::printf("\n");
      }
      std::printf("%-14s", "full model");
      for (double v : special["full_model"]) std::printf(" %9.4f", v);
      std::printf("\n%-14s", "random mask");
      for (double v : special["random_mask"]) std::printf(" %9.4f", v);
      std::printf(
          "\nown mask (diagonal) %.4f · shifted masks %.4f · full model %.4f · random mask of "
          "the own mask's sparsity %.4f\n",
          special["diagonal_mean"].get<double>(), special["shifted_mean"].get<double>(),
          special["full_model_mean"].get<double>(), special["random_mask_mean"].get<double>());
      for (const auto& [how, r] : special["combined"].items()) {
        std::printf("%-14s", how.c_str());
        for (double v : r["p_at_1"]) std::printf(" %9.4f", v);
        std::printf("   mean %.4f, sparsity %.3f", r["mean"].get<double>(),
                    r["sparsity"].get<double>());
        if (r.contains("sparsity_if_independent"))
          std::printf(" (independent random masks: %.3f)",
                      r["sparsity_if_independent"].get<double>());
        std::printf("\n");
      }
      std::printf(
          "\n== mask overlap: entries both masks keep / what two random masks of those "
          "sparsities keep in common (1 = no more than chance) ==\n%-14s",
          "");
      for (const auto& name : relations) std::printf(" %9.9s", name.c_str());
      std::printf("\n");
      for (size_t i = 0; i < relations.size(); ++i) {
        std::printf("%-14s", relations[i].c_str());
        for (size_t j = 0; j < relations.size(); ++j) {
          if (i == j)
            std::printf(" %9s", "-");
          else
            std::printf(" %9.4f", special["overlap"]["ratio"][i][j].get<double>());
        }
        std::printf("\n");
      }
      std::printf("mean over pairs %.4f\n",
                  special["overlap"]["mean_ratio_off_diagonal"].get<double>());
    }
    std::printf("masks: %s/masks/<relation>.safetensors · report: %s/relmask_report.json\n",
                config.run_dir.c_str(), config.run_dir.c_str());
  }
  if (comm.is_root()) {
    double mask = 0, full = 0, random = 0;
    for (const auto& r : report) {
      const double n = static_cast<double>(report.size());
      mask += r["test"]["p_at_1"].get<double>() / n;
      full += r["test_full_model"]["p_at_1"].get<double>() / n;
      random += r.contains("test_random_mask") ? r["test_random_mask"]["p_at_1"].get<double>() / n
                                               : std::nan("");
    }
    write_summary(ctx, config, "relmask",
                  {{"relations", report.size()},
                   {"mean_test_p_at_1_mask", mask},
                   {"mean_test_p_at_1_random_mask", random},
                   {"mean_test_p_at_1_full_model", full},
                   {"report", (out / "relmask_report.json").string()},
                   {"masks", (out / "masks").string()}});
  }
  comm.barrier();
  return 0;
}

KD_COMMAND("kdprune", "relmask",
           "LAMP: per-relation pruning masks over a frozen model (relations over rank groups)",
           training_command<RelmaskConfig>(run_relmask));

}  // namespace kd::methods
