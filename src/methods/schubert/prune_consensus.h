// Every rank must prune the same units: the prune scores are all-reduced, rank 0 plans the
// decision and broadcasts it, every rank applies it, and a checksum of the new shapes and
// weights must agree on all ranks (all-reduce min and max) before training goes on.
#pragma once
#include <string>

#include "dist/communicator.h"
#include "methods/schubert/prune_decision.h"

namespace kd::methods::schubert {

// Mean |α| over ranks → plan_prune on rank 0 → broadcast (JSON). Same result on every rank.
PruneDecision agree_on_decision(dist::Communicator& comm, const model::BertConfig& cfg,
                                const PruningVectors& alpha, const std::string& variant,
                                int64_t target_params);

// 64-bit FNV-1a over every parameter's name, shape and fp32 bytes (named order).
uint64_t model_checksum(model::BertForPreTraining& model);

// Throws on every rank when the checksums differ, naming each rank and its checksum.
void verify_same_model(dist::Communicator& comm, model::BertForPreTraining& model,
                       const std::string& what);

}  // namespace kd::methods::schubert
