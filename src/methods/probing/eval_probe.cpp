#include "methods/probing/eval_probe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/check.h"
#include "common/file_io.h"
#include "model/model_dir.h"

namespace kd::methods {
namespace fs = std::filesystem;

std::optional<ProbeItem> make_probe_item(const text::WordPieceTokenizer& tok,
                                         const text::ProbeRecord& record, int64_t max_len) {
  const auto object = tok.encode(record.obj_label);
  ProbeItem item;
  item.ids.push_back(tok.cls_id);
  for (int32_t id : tok.encode(record.masked_sentences.front())) item.ids.push_back(id);
  item.ids.push_back(tok.sep_id);
  item.mask_at = std::find(item.ids.begin(), item.ids.end(), tok.mask_id) - item.ids.begin();
  if (object.size() != 1 || object.front() == tok.unk_id ||
      item.mask_at == static_cast<int64_t>(item.ids.size()) ||
      static_cast<int64_t>(item.ids.size()) > max_len)
    return std::nullopt;
  item.object = object.front();
  return item;
}

ProbeBatch make_probe_batch(const std::vector<ProbeItem>& items, size_t b0, size_t b1) {
  size_t len = 0;
  for (size_t i = b0; i < b1; ++i) len = std::max(len, items[i].ids.size());
  const auto rows = static_cast<int64_t>(b1 - b0);
  ProbeBatch b;
  b.ids = torch::zeros({rows, static_cast<int64_t>(len)}, torch::kLong);
  b.attention_mask = torch::zeros_like(b.ids);
  std::vector<int64_t> positions, objects;
  for (size_t i = b0; i < b1; ++i) {
    const auto row = static_cast<int64_t>(i - b0);
    const auto& it = items[i];
    const auto n = static_cast<int64_t>(it.ids.size());
    b.ids[row].narrow(0, 0, n).copy_(torch::tensor(it.ids, torch::kLong));
    b.attention_mask[row].narrow(0, 0, n).fill_(1);
    positions.push_back(row * static_cast<int64_t>(len) + it.mask_at);
    objects.push_back(it.object);
  }
  b.positions = torch::tensor(positions, torch::kLong);
  b.objects = torch::tensor(objects, torch::kLong);
  return b;
}

torch::Tensor object_ranks(const torch::Tensor& scores, const torch::Tensor& objects) {
  auto target = scores.gather(1, objects.to(scores.device()).view({-1, 1}));
  return ((scores > target).sum(1) + 1).to(torch::kCPU);
}

void add_rank(ProbeScore& s, int64_t rank, int top_k) {
  s.facts += 1;
  s.hits1 += rank == 1;
  s.hitsk += rank <= top_k;
  s.reciprocal_rank += 1.0 / static_cast<double>(rank);
}

torch::Tensor probe_logits(model::BertForPreTraining& model, const ProbeBatch& batch) {
  const auto device = model->parameters().front().device();
  model::ForwardOptions o;
  o.mlm_positions = batch.positions.to(device);
  o.compute_nsp = false;
  return model
      ->forward(batch.ids.to(device), torch::zeros_like(batch.ids).to(device),
                batch.attention_mask.to(device), o)
      .mlm_logits;
}

std::map<std::string, ProbeScore> score_probes(model::BertForPreTraining& model,
                                               const text::WordPieceTokenizer& tok,
                                               const std::vector<text::ProbeRecord>& records,
                                               const std::vector<std::string>& groups, int top_k,
                                               int64_t batch_size, dist::Communicator& comm) {
  KD_CHECK(records.size() == groups.size(), "score_probes: {} records, {} groups", records.size(),
           groups.size());
  const int64_t max_len = model->config().max_position_embeddings;
  // Every rank knows every group (same order everywhere), and scores a contiguous range.
  std::vector<std::string> names(groups);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
  std::vector<double> sums(names.size() * 5, 0.0);  // facts, skipped, hits1, hitsk, rr

  const size_t n = records.size();
  const size_t begin = n * comm.rank() / comm.size(), end = n * (comm.rank() + 1) / comm.size();
  std::vector<ProbeItem> items;
  std::vector<size_t> item_group;
  for (size_t r = begin; r < end; ++r) {
    const size_t g = index.at(groups[r]);
    auto item = make_probe_item(tok, records[r], max_len);
    if (!item) {
      sums[g * 5 + 1] += 1;
      continue;
    }
    items.push_back(std::move(*item));
    item_group.push_back(g);
  }

  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  for (size_t b0 = 0; b0 < items.size(); b0 += static_cast<size_t>(batch_size)) {
    const size_t b1 = std::min(items.size(), b0 + static_cast<size_t>(batch_size));
    auto batch = make_probe_batch(items, b0, b1);
    auto logits = probe_logits(model, batch);  // [rows, V]
    auto rank = object_ranks(logits, batch.objects);
    auto rank_a = rank.accessor<int64_t, 1>();
    for (size_t i = b0; i < b1; ++i) {
      const int64_t r = rank_a[static_cast<int64_t>(i - b0)];
      double* s = &sums[item_group[i] * 5];
      s[0] += 1;
      s[2] += r == 1;
      s[3] += r <= top_k;
      s[4] += 1.0 / static_cast<double>(r);
    }
  }
  if (was_training) model->train();
  auto all = torch::tensor(sums, torch::kFloat64);
  comm.allreduce_host(all);
  std::map<std::string, ProbeScore> out;
  for (size_t g = 0; g < names.size(); ++g) {
    ProbeScore s;
    s.facts = static_cast<int64_t>(all[g * 5].item<double>());
    s.skipped = static_cast<int64_t>(all[g * 5 + 1].item<double>());
    s.hits1 = all[g * 5 + 2].item<double>();
    s.hitsk = all[g * 5 + 3].item<double>();
    s.reciprocal_rank = all[g * 5 + 4].item<double>();
    out[names[g]] = s;
  }
  return out;
}

}  // namespace kd::methods
