// Model directories (the exchange format, Hugging Face layout): config.json (HF BertConfig
// keys + per-layer lists when layers differ), model.safetensors (HF BertForPreTraining tensor
// names, fp32, tied decoder weight omitted) and vocab.txt.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "model/bert.h"

namespace kd::model {

// Writes DIR atomically: everything goes to a sibling temporary directory that is renamed
// into place (an existing DIR is replaced). vocab_source: the vocab.txt to copy ("" = none).
void save_model_dir(const std::string& dir, BertForPreTraining& model,
                    const std::string& vocab_source);

// Fills a sibling temporary directory through `fill(tmp)`, fsyncs it and renames it to DIR
// (an existing DIR is replaced): a reader sees the old directory or the new one, never a mix.
void write_dir_atomically(const std::string& dir,
                          const std::function<void(const std::string& tmp)>& fill);
// Copies vocab_source to DIR/vocab.txt ("" = nothing), warning when its line count is not
// vocab_size.
void copy_vocab(const std::string& vocab_source, const std::string& dir, int64_t vocab_size);

// Reads config.json + model.safetensors. Accepts F32/F16/BF16/F64 weights (converted to fp32),
// old LayerNorm names gamma/beta, names without the `bert.` prefix, and checkpoints of other
// BERT classes: a head absent as a whole (MLM head cls.predictions.*, NSP head
// cls.seq_relationship.*, pooler; e.g. BertModel, BertForMaskedLM) keeps a fresh init, with a
// warning; a head present only in part is an error. Missing tensors and shapes that
// disagree with config.json are errors naming the tensor (and the config field); unexpected
// extra tensors are listed in a warning. The model is returned in eval mode (like HF
// from_pretrained); call train() before training.
// `adjust_config` may change what does not shape a tensor (e.g. dropout) before the model is
// built, so a caller need not build and load a second model to change it.
BertForPreTraining load_model_dir(const std::string& dir,
                                  const std::function<void(BertConfig&)>& adjust_config = {});

// Copies DIR's weights into `model` (same parameter names and shapes; checkpoint resume).
// A parameter missing from DIR is an error naming it.
void load_weights_into(const std::string& dir, BertForPreTraining& model);

// Reads only DIR/config.json.
BertConfig load_config(const std::string& dir);

// Per-layer A, k, v, F, H and parameter counts (per layer and total), for `kdprune inspect`.
std::string inspect_model_dir(const std::string& dir);
// The same table for a config in memory.
std::string describe_config(const BertConfig& cfg);
// The same as JSON (`kdprune inspect --json`): sizes, per-layer sizes, parameter counts.
nlohmann::json describe_config_json(const BertConfig& cfg);
nlohmann::json inspect_model_dir_json(const std::string& dir);

}  // namespace kd::model
