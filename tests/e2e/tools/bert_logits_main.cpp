// bert_logits --model DIR --inputs IN.safetensors --out OUT.safetensors [--device cpu|cuda]
// Loads a model directory as kdprune does (load_model_dir), runs one eval-mode forward pass on
// the inputs in IN (input_ids, token_type_ids, attention_mask: int64 [B, T]) and writes
// mlm_logits [B, T, V], nsp_logits [B, 2] and sequence_output [B, T, H] (fp32) to OUT.
// The Hugging Face parity check of scripts/gpu-check.sh (scripts/gpu/hf_parity.py) compares
// them with transformers' BertForPreTraining on the same inputs.
#include <cstdio>
#include <cstring>
#include <string>

#include "common/check.h"
#include "model/model_dir.h"
#include "model/safetensors.h"

int main(int argc, char** argv) {
  std::string model_dir, inputs, out, device = "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model")
      model_dir = argv[i + 1];
    else if (a == "--inputs")
      inputs = argv[i + 1];
    else if (a == "--out")
      out = argv[i + 1];
    else if (a == "--device")
      device = argv[i + 1];
  }
  if (model_dir.empty() || inputs.empty() || out.empty() || (device != "cpu" && device != "cuda")) {
    std::fprintf(stderr,
                 "usage: bert_logits --model DIR --inputs IN.safetensors --out OUT.safetensors "
                 "[--device cpu|cuda]\n");
    return 2;
  }
  try {
    const torch::Device dev = device == "cuda" ? torch::Device(torch::kCUDA) : torch::kCPU;
    auto model = kd::model::load_model_dir(model_dir);  // eval mode
    model->to(dev);
    auto in = kd::model::load_safetensors(inputs);
    auto get = [&](const char* name) { return in.at(name).to(torch::kInt64).to(dev); };
    torch::NoGradGuard no_grad;
    kd::model::ForwardOptions opt;
    opt.compute_nsp = true;
    auto o = model->forward(get("input_ids"), get("token_type_ids"), get("attention_mask"), opt);
    kd::model::save_safetensors(out, {{"mlm_logits", o.mlm_logits.to(torch::kFloat32)},
                                      {"nsp_logits", o.nsp_logits.to(torch::kFloat32)},
                                      {"sequence_output", o.sequence_output.to(torch::kFloat32)}});
    std::printf("bert_logits: %s on %s -> %s\n", model_dir.c_str(), device.c_str(), out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bert_logits: %s\n", e.what());
    return 1;
  }
  return 0;
}
