// The campaign planner's cost model: how long a stage takes on r ranks, estimated from its
// effective config before anything runs.
//
//   training FLOPs = 6 · N · tokens, evaluation FLOPs = 2 · N · tokens, seconds = FLOPs / rate
//
// N = encoder parameters (the embedding lookup costs no matmul), tokens from steps × batch ×
// sequence length (shards' T), facts × 16 tokens for probing (each relation's
// probe_work), examples × max_seq_length × epochs for fine-tuning; rate = the campaign's
// rank_gflops. Scaling: the data-parallel trainers (pretrain, distill, schubert) take a batch
// *per rank*, so more ranks process more data in the same time (duration independent of r);
// commands that split units over rank groups (relations, fine-tuning runs, probe facts) get
// faster up to one rank per unit. A stage's `cost_s` replaces the estimate.
//
// Communication: a data-parallel trainer on r > 1 ranks also all-reduces its fp32 gradients
// (4 bytes per parameter, the tied embedding included) every optimizer step, costed with the
// ring model 2(r−1)·α + 2(r−1)/r · S/B (α = link_latency_us, B = link_gbytes_per_s of the
// campaign); the groups of unit-split commands are one rank per unit and do not communicate.
#pragma once
#include <functional>
#include <string>

#include "methods/campaign/campaign_config.h"
#include "model/bert_config.h"

namespace kd::methods::campaign {

struct StageEstimate {
  double work_s = 0;            // seconds on one rank
  bool per_rank_batch = false;  // duration independent of the rank count
  int64_t units = 1;            // most ranks that still shorten it (units split over groups)
  double output_params = 0;     // encoder parameters of the model it publishes (0: none)
  int64_t sync_steps = 0;       // optimizer steps that all-reduce gradients (data-parallel)
  double sync_bytes = 0;        // bytes all-reduced per step
  double link_latency_s = 0, link_bytes_per_s = 1;  // the ring model's α and B
  std::string basis;  // how the estimate was made, for the printed plan

  double duration_s(int ranks) const;    // compute + communication on `ranks`
  double all_reduce_s(int ranks) const;  // one step's gradient all-reduce (0 on one rank)
};

// Parameters of a BERT without its embedding tables (the N of the cost model).
double encoder_params(const model::BertConfig& c);

// Encoder parameters of the model at `dir` (a published model of an earlier stage is looked up
// in `known`, which maps model directories to their estimated parameters).
using ModelParams = std::function<double(const std::string& dir)>;

// The stage's estimate; never throws for a missing input (the stage's own checks report that
// when it runs): unknowns fall back to stated defaults, said in `basis`.
StageEstimate estimate_stage(const CampaignConfig& campaign, const StageSpec& stage,
                             const ModelParams& params_of);

}  // namespace kd::methods::campaign
