// One fine-tuning run as a TrainingTask: a SequenceClassifier trained on a task's encoded
// training examples. The examples form one stream over epochs (epoch e visits them in a
// permutation drawn from the run's seed and e), and global micro-batch m is the stream's rows
// [m·B·W, (m+1)·B·W); rank r takes its B rows at offset r·B. So W ranks with batch B see the
// same examples per step as 1 rank with batch W·B, every micro-batch is full (the last one of an
// epoch continues into the next epoch), and the cursor is one number.
// After every eval_every-th step (and the last) the dev set is evaluated on the group; a better
// dev score saves the model to `best_dir` (the best dev checkpoint), and the best score travels
// in the checkpoint state, so a resumed run keeps selecting against it.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/finetune/downstream_task.h"
#include "model/sequence_classifier.h"
#include "train/training_task.h"

namespace kd::methods::finetune {

struct FinetuneRunSpec {
  std::string label;  // names the run in log lines
  const DownstreamTask* task = nullptr;
  const EncodedSet* train = nullptr;
  const EncodedSet* dev = nullptr;
  int64_t batch_size = 32;        // per rank
  int64_t eval_batch_size = 128;  // per rank
  int64_t eval_every = 0;         // steps
  int64_t steps = 0;              // of the run
  uint64_t order_seed = 0;
  int64_t pad_id = 0;
  std::string best_dir;
  std::string vocab;  // copied into saved model directories
};

// A batch of encoded examples as model inputs (padded to its longest example).
struct ClassifierBatch {
  torch::Tensor input_ids, token_type_ids, attention_mask, labels;
  int64_t tokens = 0;  // real (unpadded) tokens
};
ClassifierBatch make_classifier_batch(const std::vector<const EncodedExample*>& rows,
                                      int64_t pad_id, bool regression, torch::Device device);

// The model's predictions on `set` (class ids, or scores for regression) in the set's order:
// each rank of `comm` predicts a contiguous share, rank 0 gathers them and broadcasts the whole.
std::vector<double> predict(model::SequenceClassifier& model, const EncodedSet& set,
                            int64_t batch_size, int64_t pad_id, dist::Communicator& comm);

class FinetuneTask : public train::TrainingTask {
 public:
  FinetuneTask(model::SequenceClassifier& model, FinetuneRunSpec spec,
               std::shared_ptr<dist::Communicator> group);
  train::NamedTensors trainable_parameters() override;
  train::MicroStepResult micro_step() override;
  void after_step(int64_t step) override;
  nlohmann::json rank_state() const override;
  void load_rank_state(const nlohmann::json& state) override;
  void save_model(const std::string& dir) override;
  void load_model(const std::string& dir) override;

  // Evaluates dev now unless the last step was already evaluated (a run that ended on a skipped
  // step). Collective over the group.
  void evaluate_if_needed(int64_t step);
  // {"step", "dev": scores} of the best evaluation so far (null before any).
  const nlohmann::json& best() const { return best_; }
  const nlohmann::json& evaluations() const { return evaluations_; }

 private:
  const std::vector<int64_t>& epoch_order(int64_t epoch);
  void evaluate(int64_t step);

  model::SequenceClassifier& model_;
  FinetuneRunSpec spec_;
  std::shared_ptr<dist::Communicator> group_;
  int64_t cursor_ = 0;  // global micro-batches consumed
  int64_t order_epoch_ = -1;
  std::vector<int64_t> order_;
  int64_t last_evaluated_ = 0;
  nlohmann::json best_;
  nlohmann::json evaluations_ = nlohmann::json::array();  // {"step", "dev"} per evaluation
};

}  // namespace kd::methods::finetune
