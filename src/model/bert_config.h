// BertConfig: Hugging Face BertConfig keys plus per-layer dimensions (schuBERT makes layers
// differ). Plain BERT (all layers alike, head size H/A, filter 4H) is the default.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kd::model {

struct LayerDims {
  int64_t num_heads = 12;
  int64_t qk_head_size = 64;  // query/key size per head
  int64_t v_head_size = 64;   // value size per head
  int64_t intermediate_size = 3072;
  bool operator==(const LayerDims& o) const {
    return num_heads == o.num_heads && qk_head_size == o.qk_head_size &&
           v_head_size == o.v_head_size && intermediate_size == o.intermediate_size;
  }
};

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double layer_norm_eps = 1e-12;
  double initializer_range = 0.02;
  int64_t pad_token_id = 0;
  std::string hidden_act = "gelu";  // erf GELU (Hugging Face "gelu"); "gelu_new" = tanh approx
  std::vector<LayerDims> layers;    // one entry per layer, size num_hidden_layers

  // Uniform BERT with A heads of size H/A and filter F (default 4H).
  static BertConfig uniform(int64_t vocab, int64_t hidden, int64_t layers, int64_t heads,
                            int64_t intermediate = 0);
  // Reads Hugging Face config.json keys (+ layer_* lists); validates; throws kd::Error naming
  // `source` and the field.
  static BertConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  // Writes HF keys; per-layer lists only when layers differ.
  nlohmann::json to_json() const;
  // True when Hugging Face's plain keys describe every layer: all layers alike and head size
  // H/A for query/key and value (otherwise to_json adds the per-layer lists).
  bool is_uniform() const;
  void validate(const std::string& source = "config") const;
  int64_t num_parameters() const;                    // of BertForPreTraining with tied decoder
  int64_t layer_num_parameters(size_t layer) const;  // one encoder layer (attention + FFN + LNs)
};

}  // namespace kd::model
