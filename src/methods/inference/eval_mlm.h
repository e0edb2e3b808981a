// Masked-token accuracy and perplexity of a model on held-out NVIDIA-layout shards, with the
// masking stored in the shards (so every model is scored on the same positions), distributed
// over ranks: each rank scores its share of the rows, the sums are all-reduced.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "model/bert.h"

namespace kd::methods {

struct MlmEvalResult {
  int64_t instances = 0;        // rows scored (all ranks; < total only with max_batches)
  int64_t total_instances = 0;  // rows in the files
  int64_t masked = 0;           // masked positions scored
  int64_t correct = 0;          // argmax == original token
  double loss_sum = 0;          // Σ cross-entropy over masked positions (nats)
  double accuracy() const { return masked ? static_cast<double>(correct) / masked : 0.0; }
  double mean_loss() const { return masked ? loss_sum / masked : 0.0; }
  double perplexity() const;
};

// `max_batches` per rank (0 = every row: each rank scores a contiguous range of the rows).
MlmEvalResult evaluate_mlm(model::BertForPreTraining& model, const std::vector<std::string>& globs,
                           int64_t batch_size, int64_t max_batches, dist::Communicator& comm);

struct EvalMlmArgs {
  std::string model;
  std::vector<std::string> data;
  int64_t batch_size = 64;
  int64_t max_batches = 0;
  std::string precision = "fp32";
  std::string json;  // also write the result here
};
int run_eval_mlm(const EvalMlmArgs& args, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
