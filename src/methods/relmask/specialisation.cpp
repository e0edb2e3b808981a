#include "methods/relmask/specialisation.h"

#include "common/check.h"
#include "dist/local_communicator.h"
#include "methods/probing/eval_probe.h"
#include "methods/relmask/mask_controls.h"

namespace kd::methods::relmask {

nlohmann::json specialisation_matrix(model::BertForPreTraining& model,
                                     const text::WordPieceTokenizer& tok,
                                     const MaskOptions& options,
                                     const std::vector<std::string>& relations,
                                     const std::vector<std::string>& mask_files,
                                     const std::vector<std::vector<text::ProbeRecord>>& tests,
                                     int top_k, uint64_t job_seed, dist::Communicator& comm) {
  const size_t R = relations.size();
  dist::LocalCommunicator local;
  auto score = [&](const std::vector<text::ProbeRecord>& records) {
    std::vector<std::string> groups(records.size(), "r");
    auto s = score_probes(model, tok, records, groups, top_k, 64, local);
    return s.empty() ? 0.0 : s.begin()->second.p_at_1();
  };
  // Row i (mask i) on rank i mod W; the full-model row is the extra row R, the random-mask
  // control row R + 1 (only its cells (R + 1, j) are filled: relation j's own control).
  auto cells =
      torch::zeros({static_cast<int64_t>(R + 2), static_cast<int64_t>(R)}, torch::kFloat64);
  for (size_t i = 0; i <= R + 1; ++i) {
    if (static_cast<int>(i % comm.size()) != comm.rank()) continue;
    if (i == R + 1) {
      for (size_t j = 0; j < R; ++j) {
        RelationMasks trained(model, options, 0), random(model, options, 0);
        trained.load(mask_files[j]);
        randomise_like(random, trained, control_seed(job_seed, relations[j]));
        random.attach(model);
        random.set_training(false);
        cells[i][j] = score(tests[j]);
      }
      RelationMasks::detach(model);
      continue;
    }
    if (i < R) {
      RelationMasks masks(model, options, 0);
      masks.load(mask_files[i]);
      masks.attach(model);
      masks.set_training(false);
    } else {
      RelationMasks::detach(model);
    }
    for (size_t j = 0; j < R; ++j) cells[i][j] = score(tests[j]);
    RelationMasks::detach(model);
  }
  comm.allreduce_host(cells);
  nlohmann::json out = {{"relations", relations}, {"p_at_1", nlohmann::json::array()}};
  double diagonal = 0, shifted = 0, full = 0;
  for (size_t i = 0; i < R; ++i) {
    std::vector<double> row;
    for (size_t j = 0; j < R; ++j) row.push_back(cells[i][j].item<double>());
    out["p_at_1"].push_back(row);
    diagonal += row[i] / R;
    full += cells[R][i].item<double>() / R;
    for (size_t k = 1; k < R; ++k) shifted += row[(i + k) % R] / (R * (R - 1));
  }
  std::vector<double> full_row, random_row;
  double random_mean = 0;
  for (size_t j = 0; j < R; ++j) {
    full_row.push_back(cells[R][j].item<double>());
    random_row.push_back(cells[R + 1][j].item<double>());
    random_mean += random_row.back() / R;
  }
  out["full_model"] = full_row;
  out["random_mask"] = random_row;
  out["random_mask_mean"] = random_mean;
  out["diagonal_mean"] = diagonal;
  out["shifted_mean"] = R > 1 ? shifted : 0.0;
  out["full_model_mean"] = full;
  return out;
}

}  // namespace kd::methods::relmask

namespace kd::methods::relmask {

torch::Tensor combine_masks(const std::vector<torch::Tensor>& masks,
                            const std::vector<double>& weights, const std::string& how) {
  KD_CHECK(!masks.empty() && masks.size() == weights.size(), "combine_masks: {} masks, {} weights",
           masks.size(), weights.size());
  if (how == "union" || how == "intersection") {
    auto out = masks.front().clone();
    for (size_t i = 1; i < masks.size(); ++i)
      out = how == "union" ? out.logical_or(masks[i]) : out.logical_and(masks[i]);
    return out;
  }
  KD_CHECK(how == "frequency", "mask combination must be union, intersection or frequency");
  double total = 0;
  auto vote = torch::zeros(masks.front().sizes(), torch::kDouble);
  for (size_t i = 0; i < masks.size(); ++i) {
    vote += masks[i].to(torch::kDouble) * weights[i];
    total += weights[i];
  }
  return vote >= 0.5 * total;
}

nlohmann::json combined_mask_report(model::BertForPreTraining& model,
                                    const text::WordPieceTokenizer& tok, const MaskOptions& options,
                                    const std::vector<RelationMasks>& all,
                                    const std::vector<double>& weights,
                                    const std::vector<std::vector<text::ProbeRecord>>& tests,
                                    int top_k, dist::Communicator& comm) {
  const std::vector<std::string> kinds = {"union", "intersection", "frequency"};
  auto cells =
      torch::zeros({static_cast<int64_t>(kinds.size()), static_cast<int64_t>(tests.size()) + 1},
                   torch::kFloat64);  // last column: sparsity
  dist::LocalCommunicator local;
  for (size_t k = 0; k < kinds.size(); ++k) {
    if (static_cast<int>(k % comm.size()) != comm.rank()) continue;
    RelationMasks combined(model, options, 0);
    double zeros = 0, total = 0;
    for (size_t i = 0; i < combined.logits().size(); ++i) {
      std::vector<torch::Tensor> parts;
      for (const auto& m : all) parts.push_back(m.hard_mask(i));
      auto keep = combine_masks(parts, weights, kinds[k]);
      combined.set_hard_mask(i, keep);
      zeros += static_cast<double>(keep.numel()) - keep.sum().item<double>();
      total += static_cast<double>(keep.numel());
    }
    combined.attach(model);
    combined.set_training(false);
    for (size_t j = 0; j < tests.size(); ++j) {
      std::vector<std::string> groups(tests[j].size(), "r");
      auto s = score_probes(model, tok, tests[j], groups, top_k, 64, local);
      cells[k][j] = s.empty() ? 0.0 : s.begin()->second.p_at_1();
    }
    cells[k][static_cast<int64_t>(tests.size())] = zeros / std::max(1.0, total);
    RelationMasks::detach(model);
  }
  comm.allreduce_host(cells);
  nlohmann::json out = nlohmann::json::object();
  for (size_t k = 0; k < kinds.size(); ++k) {
    std::vector<double> row;
    double mean = 0;
    for (size_t j = 0; j < tests.size(); ++j) {
      row.push_back(cells[k][j].item<double>());
      mean += row.back() / static_cast<double>(tests.size());
    }
    out[kinds[k]] = {{"p_at_1", row},
                     {"mean", mean},
                     {"sparsity", cells[k][static_cast<int64_t>(tests.size())].item<double>()}};
    if (kinds[k] != "frequency")
      out[kinds[k]]["sparsity_if_independent"] = independent_combination_sparsity(all, kinds[k]);
  }
  return out;
}

std::vector<RelationMasks> load_masks(model::BertForPreTraining& model, const MaskOptions& options,
                                      const std::vector<std::string>& mask_files) {
  std::vector<RelationMasks> all;
  for (const auto& f : mask_files) {
    all.emplace_back(model, options, 0);
    all.back().load(f);
  }
  return all;
}

}  // namespace kd::methods::relmask
