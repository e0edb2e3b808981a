#include "methods/prompt/cloze_task.h"

#include <algorithm>
#include <set>

#include <fmt/ranges.h>

#include "common/check.h"

namespace kd::methods::prompt {
namespace {

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

// The cloze as pieces: literal token ids, or a placeholder (-1 = [A], -2 = [B], -3 = [MASK]).
std::vector<int64_t> cloze_pieces(const text::WordPieceTokenizer& tok, const std::string& cloze) {
  static const std::vector<std::pair<std::string, int64_t>> kSlots = {
      {"[A]", -1}, {"[B]", -2}, {"[MASK]", -3}};
  std::vector<int64_t> out;
  size_t at = 0;
  while (at < cloze.size()) {
    size_t next = std::string::npos;
    int64_t code = 0;
    size_t width = 0;
    for (const auto& [name, c] : kSlots) {
      const auto found = cloze.find(name, at);
      if (found < next) next = found, code = c, width = name.size();
    }
    for (int32_t id : tok.encode(cloze.substr(at, next == std::string::npos ? next : next - at)))
      out.push_back(id);
    if (next == std::string::npos) break;
    out.push_back(code);
    at = next + width;
  }
  return out;
}

}  // namespace

Verbaliser make_verbaliser(const text::WordPieceTokenizer& tok, const finetune::TaskSpec& spec,
                           const std::vector<std::string>& words, const std::string& task_dir) {
  KD_CHECK_HINT(!spec.regression(), "prompt-task reads classes at [MASK]; use kdprune finetune",
                "{}: task {} is a regression, which a verbaliser cannot express", task_dir,
                spec.name);
  Verbaliser v;
  v.words = words.empty() ? spec.labels : words;
  KD_CHECK_HINT(v.words.size() == spec.labels.size(),
                "give one word per label, in the order of task.json's labels",
                "task.verbaliser has {} words for the {} labels of {} ({})", v.words.size(),
                spec.labels.size(), task_dir, fmt::join(spec.labels, ", "));
  std::set<int64_t> seen;
  for (size_t c = 0; c < v.words.size(); ++c) {
    const auto ids = tok.encode(v.words[c]);
    KD_CHECK_HINT(ids.size() == 1 && ids.front() != tok.unk_id,
                  "pick a word that is one token of the model's vocabulary",
                  "task.verbaliser: '{}' (label '{}' of {}) is {} WordPieces, not one known token",
                  v.words[c], spec.labels[c], task_dir, ids.size());
    KD_CHECK(seen.insert(ids.front()).second,
             "task.verbaliser: '{}' stands for two labels of {}; each label needs its own word",
             v.words[c], task_dir);
    v.ids.push_back(ids.front());
  }
  return v;
}

void validate_cloze(const std::string& cloze, bool pair) {
  KD_CHECK_HINT(count_of(cloze, "[A]") == 1 && count_of(cloze, "[MASK]") == 1,
                "e.g. \"[A] [MASK] .\" or, for sentence pairs, \"[A] ? [MASK] , [B]\"",
                "task.cloze '{}' must hold [A] and [MASK] once each", cloze);
  KD_CHECK_HINT(count_of(cloze, "[B]") == (pair ? 1u : 0u),
                pair ? "this task has sentence pairs: put [B] where the second text goes"
                     : "this task has single texts: remove [B]",
                "task.cloze '{}' {} [B]", cloze, pair ? "lacks" : "must not hold");
}

ClozeItems cloze_items(const text::WordPieceTokenizer& tok,
                       const std::vector<finetune::TaskExample>& examples, const std::string& cloze,
                       bool pair, int64_t prompt_length, int64_t max_seq_length,
                       int64_t max_text_tokens, int64_t num_classes) {
  validate_cloze(cloze, pair);
  const auto pieces = cloze_pieces(tok, cloze);
  const int64_t literal = static_cast<int64_t>(
      std::count_if(pieces.begin(), pieces.end(), [](int64_t p) { return p >= 0 || p == -3; }));
  int64_t budget = max_seq_length - 2 - prompt_length - literal;  // [CLS] .. [SEP]
  KD_CHECK_HINT(budget >= (pair ? 2 : 1), "raise task.max_seq_length or shorten the prompt",
                "a prompt of {} vectors and the cloze '{}' ({} tokens) leave no room for the text "
                "within task.max_seq_length {}",
                prompt_length, cloze, literal, max_seq_length);
  if (max_text_tokens > 0) budget = std::min(budget, max_text_tokens);
  ClozeItems out;
  for (const auto& e : examples) {
    const auto cls = static_cast<int64_t>(e.label);
    KD_CHECK(static_cast<double>(cls) == e.label && cls >= 0 && cls < num_classes,
             "line {}: label {} is not a class id below {}", e.line, e.label, num_classes);
    auto a = tok.encode(e.text_a);
    auto b = pair ? tok.encode(e.text_b) : std::vector<int32_t>{};
    out.truncated += finetune::truncate_longest_first(a, b, static_cast<size_t>(budget));
    PromptItem item;
    item.object = cls;
    item.ids.push_back(tok.cls_id);
    for (int64_t k = 0; k < prompt_length; ++k) {
      item.slots.push_back(static_cast<int64_t>(item.ids.size()));
      item.ids.push_back(tok.pad_id);
    }
    for (int64_t p : pieces) {
      if (p >= 0) {
        item.ids.push_back(p);
      } else if (p == -3) {
        item.mask_at = static_cast<int64_t>(item.ids.size());
        item.ids.push_back(tok.mask_id);
      } else {
        const auto& text = p == -1 ? a : b;
        item.ids.insert(item.ids.end(), text.begin(), text.end());
      }
    }
    item.ids.push_back(tok.sep_id);
    out.items.push_back(std::move(item));
  }
  return out;
}

ClassPredictions predict_classes(model::BertForPreTraining& model, const torch::Tensor& prompts,
                                 const std::vector<PromptItem>& items,
                                 const std::vector<int64_t>& class_ids, const std::string& combine,
                                 int64_t batch_size, dist::Communicator& comm) {
  const int64_t N = prompts.size(0), E = static_cast<int64_t>(items.size());
  // Row p: prompt p's predictions; row N: the ensemble's. Zero outside this rank's share, so
  // that a sum over the ranks assembles every prediction.
  auto predicted = torch::zeros({N + 1, E}, torch::kFloat64);
  auto classes = torch::tensor(class_ids, torch::kLong).to(prompts.device());
  for_each_prompt_batch(
      model, prompts, items, batch_size, comm,
      [&](size_t first, const PromptBatch& batch, const torch::Tensor& vocab_logits) {
        auto logits = vocab_logits.index_select(2, classes);  // [N, B, C]
        auto rows = predicted.narrow(1, static_cast<int64_t>(first), batch.ids.size(0));
        rows.narrow(0, 0, N).copy_(logits.argmax(-1).to(torch::kCPU, torch::kFloat64));
        rows[N].copy_(ensemble_scores(logits, combine).argmax(-1).to(torch::kCPU, torch::kFloat64));
      });
  comm.allreduce_host(predicted);
  ClassPredictions out;
  auto row = [&](int64_t r) {
    auto t = predicted[r].contiguous();
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + E);
  };
  for (int64_t p = 0; p < N; ++p) out.each.push_back(row(p));
  out.ensemble = row(N);
  return out;
}

}  // namespace kd::methods::prompt
