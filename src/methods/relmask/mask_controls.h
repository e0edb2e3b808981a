// Controls for LAMP's masks (issue 17): what untrained masks of the same sparsity give, so that a
// trained mask's P@1, two relations' overlap and a combination's sparsity can be told apart from
// what sparsity alone produces.
//   random control:  in every masked matrix, exactly as many entries kept as the trained mask
//                    keeps, chosen uniformly at random (seeded)
//   overlap:         the fraction of masked entries two relations both keep, beside k_a·k_b per
//                    matrix (what two such random masks keep in common on average: the
//                    hypergeometric mean), summed over matrices
//   combinations:    a union of independent random masks has Π z_i zeros per matrix, an
//                    intersection 1 − Π (1 − z_i), z_i = relation i's sparsity of that matrix
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "methods/relmask/relation_masks.h"

namespace kd::methods::relmask {

// Seed of `relation`'s random-mask control in a job seeded `job_seed`: the per-relation report
// and the specialisation matrix's control row draw the same mask.
uint64_t control_seed(uint64_t job_seed, const std::string& relation);

// Sets `out`'s logits (±10) to random masks with, per matrix, exactly `like`'s count of kept
// entries. `out` and `like` must mask the same matrices.
void randomise_like(RelationMasks& out, const RelationMasks& like, uint64_t seed);

// Fraction of all masked entries whose hard value differs between `a` and `b` (e.g. the masks at
// initialisation and after training).
double flipped_fraction(const RelationMasks& a, const RelationMasks& b);

// Per pair of relations: "kept_both" (observed fraction of masked entries both keep), "expected"
// (the random-mask value) and "ratio" = kept_both / expected, each an R×R array.
nlohmann::json mask_overlap(const std::vector<RelationMasks>& masks);

// Sparsity of the union / intersection of independent random masks with each matrix's
// sparsities of `masks` ("union" or "intersection").
double independent_combination_sparsity(const std::vector<RelationMasks>& masks,
                                        const std::string& how);

}  // namespace kd::methods::relmask
