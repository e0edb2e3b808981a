// Relational probing (LAMA): per relation, how often the model ranks the object first at the
// [MASK] of a cloze sentence (P@1), within the top k (P@k), and the mean reciprocal rank, over
// the whole vocabulary. Records are split over ranks; sums are all-reduced.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "model/bert.h"
#include "text/lama_reader.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods {

struct ProbeScore {
  int64_t facts = 0;    // records scored
  int64_t skipped = 0;  // object not a single WordPiece, or sentence too long
  double hits1 = 0, hitsk = 0, reciprocal_rank = 0;
  double p_at_1() const { return facts ? hits1 / facts : 0.0; }
  double p_at_k() const { return facts ? hitsk / facts : 0.0; }
  double mrr() const { return facts ? reciprocal_rank / facts : 0.0; }
};

// One cloze sentence ready for the model: [CLS] tokens [SEP], where the [MASK] is, the object.
struct ProbeItem {
  std::vector<int64_t> ids;
  int64_t mask_at = 0;
  int64_t object = 0;
};
// Nothing when the object is not a single WordPiece (or is [UNK]), the sentence has no [MASK] or is
// longer than max_len.
std::optional<ProbeItem> make_probe_item(const text::WordPieceTokenizer& tokenizer,
                                         const text::ProbeRecord& record, int64_t max_len);
// Items [begin, end) padded into one batch: ids/attention mask [n, T], flat [MASK] positions
// (row * T + t) and objects [n].
struct ProbeBatch {
  torch::Tensor ids, attention_mask, positions, objects;
};
ProbeBatch make_probe_batch(const std::vector<ProbeItem>& items, size_t begin, size_t end);
// MLM logits [rows, V] at each row's [MASK] (the batch moved to the model's device).
torch::Tensor probe_logits(model::BertForPreTraining& model, const ProbeBatch& batch);

// Rank (1 = first) of each row's object under `scores` [n, V] (higher = better; ties count in
// the object's favour), on the CPU: int64 [n].
torch::Tensor object_ranks(const torch::Tensor& scores, const torch::Tensor& objects);
// Adds one scored fact whose object ranked `rank`.
void add_rank(ProbeScore& score, int64_t rank, int top_k);

// Scores `records` grouped by `group_of(record)` (e.g. the relation). Collective over `comm`.
std::map<std::string, ProbeScore> score_probes(model::BertForPreTraining& model,
                                               const text::WordPieceTokenizer& tokenizer,
                                               const std::vector<text::ProbeRecord>& records,
                                               const std::vector<std::string>& groups, int top_k,
                                               int64_t batch_size, dist::Communicator& comm);

}  // namespace kd::methods
