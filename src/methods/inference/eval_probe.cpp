#include "methods/inference/eval_probe.h"

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
  if (object.size() != 1 || item.mask_at == static_cast<int64_t>(item.ids.size()) ||
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
  const auto device = model->parameters().front().device();
  for (size_t b0 = 0; b0 < items.size(); b0 += static_cast<size_t>(batch_size)) {
    const size_t b1 = std::min(items.size(), b0 + static_cast<size_t>(batch_size));
    auto batch = make_probe_batch(items, b0, b1);
    model::ForwardOptions o;
    o.mlm_positions = batch.positions.to(device);
    o.compute_nsp = false;
    auto logits = model
                      ->forward(batch.ids.to(device), torch::zeros_like(batch.ids).to(device),
                                batch.attention_mask.to(device), o)
                      .mlm_logits;  // [rows, V]
    auto target = logits.gather(1, batch.objects.to(device).view({-1, 1}));
    auto rank = (logits > target).sum(1).to(torch::kCPU) + 1;  // 1 = ranked first
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
  comm.allreduce(all);
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

namespace {
// JSONL files named by args (directories: their *.jsonl, sorted).
std::vector<std::string> probe_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& p : inputs) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> here;
      for (const auto& e : fs::directory_iterator(p))
        if (e.path().extension() == ".jsonl") here.push_back(e.path().string());
      std::sort(here.begin(), here.end());
      KD_CHECK_HINT(!here.empty(), "point --probes at files or directories of *.jsonl",
                    "--probes: directory '{}' holds no .jsonl file", p);
      files.insert(files.end(), here.begin(), here.end());
    } else {
      KD_CHECK_HINT(fs::is_regular_file(p, ec), "make probe sets with `kdprune-prep probes`",
                    "--probes: '{}' does not exist", p);
      files.push_back(p);
    }
  }
  return files;
}
}  // namespace

int run_eval_probe(const EvalProbeArgs& args) {
  KD_CHECK(args.top_k >= 1, "--top-k must be >= 1 (got {})", args.top_k);
  KD_CHECK(args.batch_size >= 1, "--batch-size must be >= 1 (got {})", args.batch_size);
  KD_CHECK(args.precision == "fp32" || args.precision == "bf16",
           "--precision must be fp32 or bf16 (got '{}')", args.precision);
  auto comm = dist::make_world_communicator({});
  auto model = model::load_model_dir(args.model);
  if (args.precision == "bf16") model->set_compute_dtype(torch::kBFloat16);
  auto tok =
      text::WordPieceTokenizer::from_vocab_file((fs::path(args.model) / "vocab.txt").string());

  // Group = relation, or relation + ".heldout_template" for kdprune's held-out template files.
  std::vector<text::ProbeRecord> records;
  std::vector<std::string> groups;
  for (const auto& f : probe_files(args.probes)) {
    std::vector<text::ProbeRecord> here;
    auto report = text::read_lama_jsonl(f, text::LamaSource::kAuto, nullptr, here);
    KD_CHECK(report.error.empty(), "--probes: {}: {}", f, report.error);
    if (comm->is_root() && (report.bad_lines || report.no_cloze))
      std::fprintf(stderr, "eval-probe: %s: %llu malformed lines, %llu without a cloze sentence\n",
                   f.c_str(), (unsigned long long)report.bad_lines,
                   (unsigned long long)report.no_cloze);
    const bool heldout = f.find(".heldout_template.") != std::string::npos;
    std::map<std::string, int64_t> taken;
    for (auto& r : here) {
      const std::string g = r.relation + (heldout ? " (held-out template)" : "");
      if (args.max_per_relation > 0 && taken[g]++ >= args.max_per_relation) continue;
      groups.push_back(g);
      records.push_back(std::move(r));
    }
  }
  KD_CHECK(!records.empty(), "--probes: no probe records in {} file(s)", args.probes.size());
  auto scores = score_probes(model, tok, records, groups, args.top_k, args.batch_size, *comm);
  if (!comm->is_root()) return 0;
  std::printf("eval-probe  %s  (%d ranks, ranking over %lld tokens)\n", args.model.c_str(),
              comm->size(), (long long)model->config().vocab_size);
  std::printf("%-36s %8s %8s %8s %8s %8s\n", "relation", "facts", "P@1", "P@k", "MRR", "skipped");
  nlohmann::json j = {{"model", args.model}, {"top_k", args.top_k}, {"relations", {}}};
  ProbeScore macro;
  int counted = 0;
  for (const auto& [name, s] : scores) {
    std::printf("%-36s %8lld %8.4f %8.4f %8.4f %8lld\n", name.c_str(), (long long)s.facts,
                s.p_at_1(), s.p_at_k(), s.mrr(), (long long)s.skipped);
    j["relations"][name] = {{"facts", s.facts},
                            {"p_at_1", s.p_at_1()},
                            {"p_at_k", s.p_at_k()},
                            {"mrr", s.mrr()},
                            {"skipped", s.skipped}};
    if (s.facts == 0) continue;
    macro.hits1 += s.p_at_1();
    macro.hitsk += s.p_at_k();
    macro.reciprocal_rank += s.mrr();
    ++counted;
  }
  macro.facts = counted;
  std::printf("%-36s %8d %8.4f %8.4f %8.4f\n", "average over relations", counted, macro.p_at_1(),
              macro.p_at_k(), macro.mrr());
  j["average"] = {{"p_at_1", macro.p_at_1()}, {"p_at_k", macro.p_at_k()}, {"mrr", macro.mrr()}};
  std::printf("(P@k with k = %d)\n", args.top_k);
  if (!args.json.empty()) write_file_atomic(args.json, j.dump(1) + "\n");
  return 0;
}

}  // namespace kd::methods
