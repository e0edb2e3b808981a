// LAMP's specialisation report: every relation's mask applied to every relation's test facts.
// Cell (i, j) = P@1 of θ ⊙ M_i on relation j; the diagonal is each relation with its own mask,
// "shifted" averages the cells (i, i + k mod R) over i and k = 1..R−1 (the paper's shifted-mask
// average), and the full model's P@1 per relation is the reference. The control row
// "random_mask" is, per relation j, P@1 on j of an untrained random mask with each matrix's
// kept count of M_j (mask_controls.h; seeded from `job_seed` as relmask's per-relation control):
// what M_j's sparsity alone gives.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/relmask/relation_masks.h"
#include "text/lama_reader.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods::relmask {

// Cells are shared over the ranks of `comm` (each rank loads the masks it needs); the result is
// complete on rank 0. `mask_files[i]` is relation i's mask file; `tests[j]` its test facts.
nlohmann::json specialisation_matrix(model::BertForPreTraining& model,
                                     const text::WordPieceTokenizer& tokenizer,
                                     const MaskOptions& options,
                                     const std::vector<std::string>& relations,
                                     const std::vector<std::string>& mask_files,
                                     const std::vector<std::vector<text::ProbeRecord>>& tests,
                                     int top_k, uint64_t job_seed, dist::Communicator& comm);

// Every file's masks (loaded into mask sets made with `options` for `model`).
std::vector<RelationMasks> load_masks(model::BertForPreTraining& model, const MaskOptions& options,
                                      const std::vector<std::string>& mask_files);

}  // namespace kd::methods::relmask

namespace kd::methods::relmask {

// Combines the hard masks of several relations into one (for multi-relation use): "union"
// keeps an entry kept by any relation, "intersection" one kept by all, "frequency" one whose
// kept-vote weighted by `weights` (e.g. training facts per relation) is at least half.
torch::Tensor combine_masks(const std::vector<torch::Tensor>& masks,
                            const std::vector<double>& weights, const std::string& how);

// Each combination of all relations' masks (`masks`, load_masks) evaluated on every relation's
// test facts (rank 0
// holds the result): {"union": {"p_at_1": [...], "mean": x, "sparsity": s}, ...}; union and
// intersection also give "sparsity_if_independent", that of independent random masks with the
// same per-matrix sparsities (mask_controls.h).
nlohmann::json combined_mask_report(model::BertForPreTraining& model,
                                    const text::WordPieceTokenizer& tokenizer,
                                    const MaskOptions& options,
                                    const std::vector<RelationMasks>& masks,
                                    const std::vector<double>& weights,
                                    const std::vector<std::vector<text::ProbeRecord>>& tests,
                                    int top_k, dist::Communicator& comm);

}  // namespace kd::methods::relmask
