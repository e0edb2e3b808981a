#include "methods/prompt/soft_prompts.h"

#include <algorithm>
#include <sstream>

#include "common/check.h"
#include "model/safetensors.h"
#include "model/shape_util.h"
#include "text/pretraining_instances.h"

namespace kd::methods::prompt {
namespace {

// A template split at its two placeholders: before FIRST middle SECOND after.
struct TemplateParts {
  std::string before, middle, after;
  bool subject_first = true;
};
std::optional<TemplateParts> split_template(const std::string& t) {
  const auto x = t.find("[X]"), y = t.find("[Y]");
  if (x == std::string::npos || y == std::string::npos) return std::nullopt;
  const auto first = std::min(x, y), second = std::max(x, y);
  return TemplateParts{t.substr(0, first), t.substr(first + 3, second - first - 3),
                       t.substr(second + 3), x < y};
}

void append(std::vector<int64_t>& out, const std::vector<int32_t>& ids) {
  out.insert(out.end(), ids.begin(), ids.end());
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

void validate(const PromptOptions& o) {
  KD_CHECK_HINT(o.style == "interleave" || o.style == "prepend",
                "interleave = OptiPrompt's [X] V1..Vn [MASK]; prepend = Lester's P1..Pn before "
                "the manual cloze sentence",
                "prompt.style must be interleave or prepend (got '{}')", o.style);
  KD_CHECK(o.length >= 1, "prompt.length must be >= 1 (got {})", o.length);
  KD_CHECK_HINT(!o.inits.empty(), "list one init per prompt, e.g. [manual, vocab, random]",
                "prompt.inits is empty");
  for (const auto& i : o.inits)
    KD_CHECK(i == "manual" || i == "vocab" || i == "random" || i == "class_label",
             "prompt.inits: '{}' is not manual, vocab, random or class_label", i);
  KD_CHECK(o.orders == "shared" || o.orders == "per_prompt",
           "prompt.orders must be shared or per_prompt (got '{}')", o.orders);
  KD_CHECK(o.init_range > 0, "prompt.init_range must be > 0 (got {})", o.init_range);
  KD_CHECK(o.vocab_top >= 1, "prompt.vocab_top must be >= 1 (got {})", o.vocab_top);
  KD_CHECK(o.combine == "mean_prob" || o.combine == "vote",
           "prompt.combine must be mean_prob or vote (got '{}')", o.combine);
}

std::optional<PromptItem> make_prompt_item(const text::WordPieceTokenizer& tok,
                                           const text::ProbeRecord& record, const PromptOptions& o,
                                           int64_t max_len) {
  const auto object = tok.encode(record.obj_label);
  if (object.size() != 1 || object.front() == tok.unk_id) return std::nullopt;
  PromptItem item;
  item.object = object.front();
  item.ids.push_back(tok.cls_id);
  auto add_slots = [&] {
    for (int64_t k = 0; k < o.length; ++k) {
      item.slots.push_back(static_cast<int64_t>(item.ids.size()));
      item.ids.push_back(tok.pad_id);
    }
  };
  if (o.style == "prepend") {
    if (record.masked_sentences.empty()) return std::nullopt;
    add_slots();
    append(item.ids, tok.encode(record.masked_sentences.front()));
  } else {
    const auto parts = split_template(record.template_text);
    if (!parts) return std::nullopt;
    const auto subject = tok.encode(record.sub_label);
    auto add_placeholder = [&](bool subject_here) {
      if (subject_here)
        append(item.ids, subject);
      else
        item.ids.push_back(tok.mask_id);
    };
    append(item.ids, tok.encode(parts->before));
    add_placeholder(parts->subject_first);
    add_slots();
    add_placeholder(!parts->subject_first);
    append(item.ids, tok.encode(parts->after));
  }
  item.ids.push_back(tok.sep_id);
  const auto mask = std::find(item.ids.begin(), item.ids.end(), tok.mask_id);
  if (mask == item.ids.end() || static_cast<int64_t>(item.ids.size()) > max_len)
    return std::nullopt;
  item.mask_at = mask - item.ids.begin();
  return item;
}

PromptBatch make_prompt_batch(const std::vector<PromptItem>& items, size_t b0, size_t b1) {
  KD_CHECK(b1 > b0 && b1 <= items.size(), "make_prompt_batch: bad range [{}, {})", b0, b1);
  size_t len = 0;
  for (size_t i = b0; i < b1; ++i) len = std::max(len, items[i].ids.size());
  const auto rows = static_cast<int64_t>(b1 - b0);
  const auto n = static_cast<int64_t>(items[b0].slots.size());
  PromptBatch b;
  b.ids = torch::zeros({rows, static_cast<int64_t>(len)}, torch::kLong);
  b.attention_mask = torch::zeros_like(b.ids);
  b.slots = torch::zeros({rows, n}, torch::kLong);
  b.mask_at = torch::zeros({rows}, torch::kLong);
  b.objects = torch::zeros({rows}, torch::kLong);
  auto ids = b.ids.accessor<int64_t, 2>();
  auto att = b.attention_mask.accessor<int64_t, 2>();
  auto slots = b.slots.accessor<int64_t, 2>();
  for (size_t i = b0; i < b1; ++i) {
    const auto r = static_cast<int64_t>(i - b0);
    const auto& it = items[i];
    KD_CHECK(static_cast<int64_t>(it.slots.size()) == n,
             "make_prompt_batch: items with different prompt lengths");
    for (size_t t = 0; t < it.ids.size(); ++t) {
      ids[r][static_cast<int64_t>(t)] = it.ids[t];
      att[r][static_cast<int64_t>(t)] = 1;
    }
    for (int64_t k = 0; k < n; ++k) slots[r][k] = it.slots[static_cast<size_t>(k)];
    b.mask_at[r] = it.mask_at;
    b.objects[r] = it.object;
  }
  return b;
}

torch::Tensor prompt_logits(model::BertForPreTraining& model, const torch::Tensor& prompts,
                            const PromptBatch& batch, bool rows_per_prompt) {
  KD_CHECK(prompts.dim() == 3 && prompts.size(1) == batch.slots.size(1),
           "prompt_logits: prompts {} do not fit {} slots per fact",
           model::shape_str(prompts.sizes()), batch.slots.size(1));
  const auto device = prompts.device();
  const int64_t N = prompts.size(0), n = prompts.size(1), H = prompts.size(2);
  const int64_t rows_in = batch.ids.size(0), T = batch.ids.size(1);
  KD_CHECK(!rows_per_prompt || rows_in % N == 0,
           "prompt_logits: {} rows are not one block per prompt of {}", rows_in, N);
  const int64_t B = rows_per_prompt ? rows_in / N : rows_in;
  const int64_t copies = rows_per_prompt ? 1 : N;  // row p·B + i = fact i under prompt p
  auto ids = batch.ids.to(device).repeat({copies, 1});
  auto embeds = model->word_embeddings(ids);  // frozen table: no gradient
  auto rows = torch::arange(N * B, ids.options()).view({N * B, 1}).expand({N * B, n});
  auto cols = batch.slots.to(device).repeat({copies, 1});
  auto values = prompts.unsqueeze(1).expand({N, B, n, H}).reshape({N * B * n, H});
  embeds = embeds.index_put({rows.reshape(-1), cols.reshape(-1)}, values.to(embeds.dtype()));
  model::ForwardOptions o;
  o.compute_nsp = false;
  o.mlm_positions =
      torch::arange(N * B, ids.options()) * T + batch.mask_at.to(device).repeat(copies);
  auto out = model->forward_embeds(embeds, torch::zeros_like(ids),
                                   batch.attention_mask.to(device).repeat({copies, 1}), o);
  return out.mlm_logits.view({N, B, -1});
}

torch::Tensor ensemble_scores(const torch::Tensor& logits, const std::string& combine) {
  auto mean_prob = torch::softmax(logits, -1).mean(0);  // [B, V]
  if (combine == "mean_prob") return mean_prob;
  KD_CHECK(combine == "vote", "ensemble_scores: unknown combine '{}'", combine);
  auto votes = torch::zeros_like(mean_prob);
  auto top = logits.argmax(-1);  // [N, B]
  votes.scatter_add_(1, top.t(), torch::ones(top.t().sizes(), mean_prob.options()));
  return votes + mean_prob;  // mean_prob < 1: orders equal vote counts only
}

void for_each_prompt_batch(
    model::BertForPreTraining& model, const torch::Tensor& prompts,
    const std::vector<PromptItem>& items, int64_t batch_size, const dist::Communicator& comm,
    const std::function<void(size_t, const PromptBatch&, const torch::Tensor&)>& visit) {
  const size_t begin = items.size() * comm.rank() / comm.size();
  const size_t end = items.size() * (comm.rank() + 1) / comm.size();
  const bool was_training = model->is_training();
  model->eval();
  {
    torch::NoGradGuard no_grad;
    for (size_t b0 = begin; b0 < end; b0 += static_cast<size_t>(batch_size)) {
      const size_t b1 = std::min(end, b0 + static_cast<size_t>(batch_size));
      auto batch = make_prompt_batch(items, b0, b1);
      visit(b0, batch, prompt_logits(model, prompts, batch));
    }
  }
  if (was_training) model->train();
}

PromptScores score_prompts(model::BertForPreTraining& model, const torch::Tensor& prompts,
                           const std::vector<PromptItem>& items, const std::string& combine,
                           int top_k, int64_t batch_size, dist::Communicator& comm) {
  const int64_t N = prompts.size(0);
  PromptScores out;
  out.each.resize(static_cast<size_t>(N));
  for_each_prompt_batch(model, prompts, items, batch_size, comm,
                        [&](size_t, const PromptBatch& batch, const torch::Tensor& logits) {
                          for (int64_t p = 0; p < N; ++p) {
                            auto ranks = object_ranks(logits[p], batch.objects);
                            auto r = ranks.accessor<int64_t, 1>();
                            for (int64_t i = 0; i < r.size(0); ++i)
                              add_rank(out.each[static_cast<size_t>(p)], r[i], top_k);
                          }
                          auto ranks =
                              object_ranks(ensemble_scores(logits, combine), batch.objects);
                          auto r = ranks.accessor<int64_t, 1>();
                          for (int64_t i = 0; i < r.size(0); ++i)
                            add_rank(out.ensemble, r[i], top_k);
                        });
  // Sum (facts, hits1, hitsk, rr) of every score over the ranks.
  std::vector<ProbeScore*> all;
  for (auto& s : out.each) all.push_back(&s);
  all.push_back(&out.ensemble);
  auto sums = torch::zeros({static_cast<int64_t>(all.size()), 4}, torch::kFloat64);
  for (size_t i = 0; i < all.size(); ++i) {
    const auto r = static_cast<int64_t>(i);
    sums[r][0] = static_cast<double>(all[i]->facts);
    sums[r][1] = all[i]->hits1;
    sums[r][2] = all[i]->hitsk;
    sums[r][3] = all[i]->reciprocal_rank;
  }
  comm.allreduce_host(sums);
  for (size_t i = 0; i < all.size(); ++i) {
    const auto r = static_cast<int64_t>(i);
    all[i]->facts = static_cast<int64_t>(sums[r][0].item<double>());
    all[i]->hits1 = sums[r][1].item<double>();
    all[i]->hitsk = sums[r][2].item<double>();
    all[i]->reciprocal_rank = sums[r][3].item<double>();
  }
  return out;
}

std::vector<int64_t> manual_init_tokens(const text::WordPieceTokenizer& tok,
                                        const text::ProbeRecord& record, const std::string& style) {
  const auto parts = split_template(record.template_text);
  if (!parts) return {};
  std::vector<int64_t> out;
  if (style == "interleave") {
    append(out, tok.encode(parts->middle));
  } else {
    append(out, tok.encode(parts->before + " " + parts->middle + " " + parts->after));
  }
  return out;
}

torch::Tensor init_prompts(model::BertForPreTraining& model, const text::WordPieceTokenizer& tok,
                           const PromptOptions& o, const std::vector<int64_t>& manual_tokens,
                           uint64_t seed) {
  validate(o);
  torch::NoGradGuard no_grad;
  auto table = model->embeddings->word_embeddings->weight.detach().to(torch::kCPU);
  const int64_t V = table.size(0), H = table.size(1), n = o.length;
  const int64_t first_word = std::max<int32_t>(0, tok.token_id("the"));
  const int64_t top = std::max<int64_t>(1, std::min(o.vocab_top, V - first_word));
  text::Rng rng(seed);
  auto prompts = torch::empty({static_cast<int64_t>(o.inits.size()), n, H}, torch::kFloat);
  for (size_t p = 0; p < o.inits.size(); ++p) {
    const auto& kind = o.inits[p];
    if (kind == "random") {
      for (int64_t k = 0; k < n; ++k)
        for (int64_t h = 0; h < H; ++h) prompts[p][k][h] = (rng.uniform() * 2 - 1) * o.init_range;
      continue;
    }
    KD_CHECK_HINT(kind != "manual" || !manual_tokens.empty(),
                  "use prompt.inits vocab or random for probe sets without templates (LAMA "
                  "ConceptNet), or give T-REx its relation file",
                  "prompt.inits: 'manual' needs the relation's template words, and these facts "
                  "have no template");
    KD_CHECK_HINT(kind != "class_label" || !manual_tokens.empty(),
                  "class_label initialises from a verbaliser: use kdprune prompt-task",
                  "prompt.inits: 'class_label' needs a classification task's label words");
    const bool from_words = kind == "manual" || kind == "class_label";
    for (int64_t k = 0; k < n; ++k) {
      int64_t id;
      if (from_words && k < static_cast<int64_t>(manual_tokens.size()))
        id = manual_tokens[static_cast<size_t>(k)];
      else
        id = first_word + static_cast<int64_t>(rng.next() % static_cast<uint64_t>(top));
      prompts[p][k].copy_(table[id]);
    }
  }
  return prompts;
}

void save_prompts(const std::string& path, const PromptFile& f) {
  model::save_safetensors(path, {{"prompts", f.prompts.detach().to(torch::kFloat)}},
                          {{"format", "kdprune soft prompts [N, n, H]"},
                           {"style", f.options.style},
                           {"length", std::to_string(f.options.length)},
                           {"inits", join(f.options.inits)},
                           {"combine", f.options.combine},
                           {"best", std::to_string(f.best)}});
}

PromptFile load_prompts(const std::string& path) {
  auto file = model::read_safetensors(path);
  auto it = file.tensors.find("prompts");
  KD_CHECK_HINT(it != file.tensors.end() && it->second.dim() == 3,
                "prompt files are written by `kdprune prompt` (run_dir/prompts/<relation>)",
                "{}: no 'prompts' tensor [N, n, H]", path);
  auto meta = [&](const char* key) {
    auto m = file.metadata.find(key);
    KD_CHECK(m != file.metadata.end(), "{}: metadata '{}' is missing", path, key);
    return m->second;
  };
  PromptFile f;
  f.prompts = it->second.to(torch::kFloat);
  f.options.style = meta("style");
  f.options.length = std::stoll(meta("length"));
  f.options.inits = split_commas(meta("inits"));
  f.options.combine = meta("combine");
  f.best = std::stoll(meta("best"));
  validate(f.options);
  KD_CHECK(f.prompts.size(0) == static_cast<int64_t>(f.options.inits.size()) &&
               f.prompts.size(1) == f.options.length && f.best >= 0 && f.best < f.prompts.size(0),
           "{}: prompts {} disagree with the metadata (length {}, {} inits, best {})", path,
           model::shape_str(f.prompts.sizes()), f.options.length, f.options.inits.size(), f.best);
  return f;
}

}  // namespace kd::methods::prompt
