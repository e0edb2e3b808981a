#include "methods/relmask/specialisation.h"

#include "dist/local_communicator.h"
#include "methods/inference/eval_probe.h"

namespace kd::methods::relmask {

nlohmann::json specialisation_matrix(model::BertForPreTraining& model,
                                     const text::WordPieceTokenizer& tok,
                                     const MaskOptions& options,
                                     const std::vector<std::string>& relations,
                                     const std::vector<std::string>& mask_files,
                                     const std::vector<std::vector<text::ProbeRecord>>& tests,
                                     int top_k, dist::Communicator& comm) {
  const size_t R = relations.size();
  dist::LocalCommunicator local;
  auto score = [&](const std::vector<text::ProbeRecord>& records) {
    std::vector<std::string> groups(records.size(), "r");
    auto s = score_probes(model, tok, records, groups, top_k, 64, local);
    return s.empty() ? 0.0 : s.begin()->second.p_at_1();
  };
  // Row i (mask i) on rank i mod W; the full-model row is the extra row R.
  auto cells =
      torch::zeros({static_cast<int64_t>(R + 1), static_cast<int64_t>(R)}, torch::kFloat64);
  for (size_t i = 0; i <= R; ++i) {
    if (static_cast<int>(i % comm.size()) != comm.rank()) continue;
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
  comm.allreduce(cells);
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
  std::vector<double> full_row;
  for (size_t j = 0; j < R; ++j) full_row.push_back(cells[R][j].item<double>());
  out["full_model"] = full_row;
  out["diagonal_mean"] = diagonal;
  out["shifted_mean"] = R > 1 ? shifted : 0.0;
  out["full_model_mean"] = full;
  return out;
}

}  // namespace kd::methods::relmask
