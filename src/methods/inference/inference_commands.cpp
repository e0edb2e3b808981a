#include "methods/inference/inference_commands.h"

#include <cstdio>
#include <filesystem>

#include "common/check.h"
#include "common/log.h"
#include "model/model_dir.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods {
namespace fs = std::filesystem;

int run_fill_mask(const FillMaskArgs& args, std::shared_ptr<dist::Communicator> comm) {
  KD_CHECK(args.top_k >= 1, "--top-k must be >= 1 (got {})", args.top_k);
  auto model = model::load_model_dir(args.model);
  model->eval();
  auto tok =
      text::WordPieceTokenizer::from_vocab_file((fs::path(args.model) / "vocab.txt").string());
  std::vector<int64_t> ids{tok.cls_id};
  for (int32_t id : tok.encode(args.text)) ids.push_back(id);
  ids.push_back(tok.sep_id);
  const int64_t max_len = model->config().max_position_embeddings;
  KD_CHECK(static_cast<int64_t>(ids.size()) <= max_len,
           "text is {} tokens long but the model takes at most {}", ids.size(), max_len);
  std::vector<int64_t> masks;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == tok.mask_id) masks.push_back(static_cast<int64_t>(i));
  KD_CHECK_HINT(!masks.empty(),
                "write the blank as [MASK], e.g. \"paris is the capital of [MASK] .\"",
                "the text contains no [MASK] token");

  torch::NoGradGuard no_grad;
  auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);  // [1, T]
  model::ForwardOptions opt;
  opt.mlm_positions = torch::tensor(masks, torch::kLong);
  opt.compute_nsp = false;
  auto out = model->forward(input, torch::zeros_like(input), torch::ones_like(input), opt);
  auto probs = torch::softmax(out.mlm_logits, -1);  // [M, V]
  const int64_t k = std::min<int64_t>(args.top_k, probs.size(1));
  auto [values, indices] = probs.topk(k, -1);
  if (!comm->is_root()) return 0;
  for (size_t m = 0; m < masks.size(); ++m) {
    if (m > 0) std::printf("\n");
    for (int64_t j = 0; j < k; ++j)
      std::printf("%s\t%.6f\n",
                  tok.token(static_cast<int32_t>(indices[m][j].item<int64_t>())).c_str(),
                  values[m][j].item<double>());
  }
  return 0;
}

int run_inspect(const InspectArgs& args, std::shared_ptr<dist::Communicator> comm) {
  const std::string text = args.json ? model::inspect_model_dir_json(args.model).dump(1) + "\n"
                                     : model::inspect_model_dir(args.model);
  if (comm->is_root()) std::fputs(text.c_str(), stdout);
  return 0;
}

std::shared_ptr<dist::Communicator> start_default_world() {
  auto comm = dist::make_world_communicator({});
  init_logging(comm->rank(), comm->size());
  return comm;
}

namespace {
cli::Runner add_fill_mask(CLI::App& sub) {
  auto a = std::make_shared<FillMaskArgs>();
  sub.add_option("--model", a->model, "model directory")->required()->check(CLI::ExistingDirectory);
  sub.add_option("--top-k", a->top_k, "predictions per mask")->capture_default_str();
  sub.add_option("text", a->text, "text with one or more [MASK]")->required();
  return inference_command(a, run_fill_mask);
}
cli::Runner add_inspect(CLI::App& sub) {
  auto a = std::make_shared<InspectArgs>();
  sub.add_option("--model", a->model, "model directory")->required()->check(CLI::ExistingDirectory);
  sub.add_flag("--json", a->json, "print JSON: sizes per layer and parameter counts");
  return inference_command(a, run_inspect);
}
}  // namespace

KD_COMMAND("kdprune", "fill-mask", "predict the [MASK] tokens of a text", add_fill_mask);
KD_COMMAND("kdprune", "inspect", "per-layer dimensions and parameter counts", add_inspect);

}  // namespace kd::methods
