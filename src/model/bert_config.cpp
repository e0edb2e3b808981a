#include "model/bert_config.h"

#include "common/check.h"

namespace kd::model {
namespace {

using nlohmann::json;

// Reads an optional integer key; a wrong type is an error naming the file and field.
int64_t get_int(const json& j, const char* key, int64_t def, const std::string& source) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  const json& v = j.at(key);
  KD_CHECK(v.is_number_integer() ||
               (v.is_number_float() && v.get<double>() == static_cast<int64_t>(v.get<double>())),
           "{}: field '{}' must be an integer, got {}", source, key, v.dump());
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
}

double get_double(const json& j, const char* key, double def, const std::string& source) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  const json& v = j.at(key);
  KD_CHECK(v.is_number(), "{}: field '{}' must be a number, got {}", source, key, v.dump());
  return v.get<double>();
}

// Reads a per-layer list (layer_num_attention_heads, ...); empty when absent.
std::vector<int64_t> get_list(const json& j, const char* key, int64_t layers,
                              const std::string& source) {
  std::vector<int64_t> out;
  if (!j.contains(key) || j.at(key).is_null()) return out;
  const json& v = j.at(key);
  KD_CHECK(v.is_array(), "{}: field '{}' must be a list of integers (one per layer), got {}",
           source, key, v.dump());
  KD_CHECK_HINT(
      static_cast<int64_t>(v.size()) == layers, "per-layer lists need one entry per layer",
      "{}: field '{}' has {} entries but num_hidden_layers is {}", source, key, v.size(), layers);
  for (const auto& e : v) {
    KD_CHECK(e.is_number_integer(), "{}: field '{}' must hold integers, got {}", source, key,
             e.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}

bool known_activation(const std::string& a) {
  return a == "gelu" || a == "gelu_new" || a == "relu" || a == "gelu_python";
}

}  // namespace

BertConfig BertConfig::uniform(int64_t vocab, int64_t hidden, int64_t layers, int64_t heads,
                               int64_t intermediate) {
  KD_CHECK(heads > 0 && hidden % heads == 0,
           "BertConfig::uniform: hidden_size {} must be a positive multiple of heads {}", hidden,
           heads);
  BertConfig c;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.num_hidden_layers = layers;
  LayerDims d;
  d.num_heads = heads;
  d.qk_head_size = hidden / heads;
  d.v_head_size = hidden / heads;
  d.intermediate_size = intermediate > 0 ? intermediate : 4 * hidden;
  c.layers.assign(static_cast<size_t>(layers), d);
  c.validate("BertConfig::uniform");
  return c;
}

BertConfig BertConfig::from_json(const nlohmann::json& j, const std::string& source) {
  KD_CHECK(j.is_object(), "{}: expected a JSON object with BertConfig keys", source);
  if (j.contains("model_type") && j["model_type"].is_string()) {
    const auto mt = j["model_type"].get<std::string>();
    KD_CHECK_HINT(mt == "bert", "kdprune reads BERT checkpoints (model_type \"bert\") only",
                  "{}: model_type is '{}'", source, mt);
  }
  if (j.contains("position_embedding_type") && j["position_embedding_type"].is_string()) {
    const auto pe = j["position_embedding_type"].get<std::string>();
    KD_CHECK(pe == "absolute", "{}: position_embedding_type '{}' is not supported (only absolute)",
             source, pe);
  }
  BertConfig c;
  c.vocab_size = get_int(j, "vocab_size", c.vocab_size, source);
  c.hidden_size = get_int(j, "hidden_size", c.hidden_size, source);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", c.num_hidden_layers, source);
  c.max_position_embeddings =
      get_int(j, "max_position_embeddings", c.max_position_embeddings, source);
  c.type_vocab_size = get_int(j, "type_vocab_size", c.type_vocab_size, source);
  c.pad_token_id = get_int(j, "pad_token_id", c.pad_token_id, source);
  c.hidden_dropout_prob = get_double(j, "hidden_dropout_prob", c.hidden_dropout_prob, source);
  c.attention_probs_dropout_prob =
      get_double(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, source);
  c.layer_norm_eps = get_double(j, "layer_norm_eps", c.layer_norm_eps, source);
  c.initializer_range = get_double(j, "initializer_range", c.initializer_range, source);
  if (j.contains("hidden_act")) {
    KD_CHECK(j["hidden_act"].is_string(), "{}: field 'hidden_act' must be a string, got {}", source,
             j["hidden_act"].dump());
    c.hidden_act = j["hidden_act"].get<std::string>();
  }
  KD_CHECK(c.num_hidden_layers >= 0, "{}: num_hidden_layers must be >= 0, got {}", source,
           c.num_hidden_layers);
  const int64_t heads = get_int(j, "num_attention_heads", 12, source);
  const int64_t inter = get_int(j, "intermediate_size", 4 * c.hidden_size, source);
  const int64_t L = c.num_hidden_layers;
  auto l_heads = get_list(j, "layer_num_attention_heads", L, source);
  auto l_qk = get_list(j, "layer_attention_head_size", L, source);
  auto l_v = get_list(j, "layer_value_head_size", L, source);
  auto l_f = get_list(j, "layer_intermediate_size", L, source);
  const bool any_list = !l_heads.empty() || !l_qk.empty() || !l_v.empty();
  if (l_heads.empty() || l_qk.empty() || l_v.empty()) {
    // At least one attention dimension comes from the uniform HF fields: A must divide H.
    KD_CHECK_HINT(heads > 0 && c.hidden_size % heads == 0,
                  "set num_attention_heads to a divisor of hidden_size, or give the per-layer "
                  "lists layer_num_attention_heads/layer_attention_head_size/"
                  "layer_value_head_size",
                  "{}: hidden_size {} is not a multiple of num_attention_heads {}", source,
                  c.hidden_size, heads);
  }
  (void)any_list;
  c.layers.resize(static_cast<size_t>(L));
  for (int64_t l = 0; l < L; ++l) {
    LayerDims& d = c.layers[l];
    d.num_heads = l_heads.empty() ? heads : l_heads[l];
    d.qk_head_size = l_qk.empty() ? c.hidden_size / heads : l_qk[l];
    d.v_head_size = l_v.empty() ? c.hidden_size / heads : l_v[l];
    d.intermediate_size = l_f.empty() ? inter : l_f[l];
  }
  c.validate(source);
  return c;
}

bool BertConfig::is_uniform() const {
  if (layers.empty()) return true;
  const LayerDims& d = layers[0];
  for (const auto& l : layers)
    if (!(l == d)) return false;
  // Hugging Face derives the head size as H/A: only then are the plain keys enough.
  return d.num_heads > 0 && d.qk_head_size == d.v_head_size &&
         d.num_heads * d.qk_head_size == hidden_size;
}

nlohmann::json BertConfig::to_json() const {
  nlohmann::json j;
  j["architectures"] = {"BertForPreTraining"};
  j["model_type"] = "bert";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["num_hidden_layers"] = num_hidden_layers;
  // For heterogeneous layers the plain keys describe layer 0 (informational; the lists rule).
  const LayerDims d0 = layers.empty() ? LayerDims{} : layers[0];
  int64_t heads = d0.num_heads;
  if (!is_uniform()) {
    // Keep the HF invariant hidden_size % num_attention_heads == 0 for tools that check it.
    heads = (d0.num_heads > 0 && hidden_size % d0.num_heads == 0) ? d0.num_heads : 1;
  }
  j["num_attention_heads"] = heads;
  j["intermediate_size"] = d0.intermediate_size;
  j["hidden_act"] = hidden_act;
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  j["max_position_embeddings"] = max_position_embeddings;
  j["type_vocab_size"] = type_vocab_size;
  j["initializer_range"] = initializer_range;
  j["layer_norm_eps"] = layer_norm_eps;
  j["pad_token_id"] = pad_token_id;
  j["position_embedding_type"] = "absolute";
  if (!is_uniform()) {
    std::vector<int64_t> a, k, v, f;
    for (const auto& l : layers) {
      a.push_back(l.num_heads);
      k.push_back(l.qk_head_size);
      v.push_back(l.v_head_size);
      f.push_back(l.intermediate_size);
    }
    j["layer_num_attention_heads"] = a;
    j["layer_attention_head_size"] = k;
    j["layer_value_head_size"] = v;
    j["layer_intermediate_size"] = f;
  }
  return j;
}

void BertConfig::validate(const std::string& source) const {
  KD_CHECK(vocab_size > 0, "{}: vocab_size must be > 0, got {}", source, vocab_size);
  KD_CHECK(hidden_size > 0, "{}: hidden_size must be > 0, got {}", source, hidden_size);
  KD_CHECK(num_hidden_layers >= 0, "{}: num_hidden_layers must be >= 0, got {}", source,
           num_hidden_layers);
  KD_CHECK(max_position_embeddings > 0, "{}: max_position_embeddings must be > 0, got {}", source,
           max_position_embeddings);
  KD_CHECK(type_vocab_size > 0, "{}: type_vocab_size must be > 0, got {}", source, type_vocab_size);
  KD_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size,
           "{}: pad_token_id {} outside the vocabulary [0, {})", source, pad_token_id, vocab_size);
  KD_CHECK(hidden_dropout_prob >= 0 && hidden_dropout_prob < 1,
           "{}: hidden_dropout_prob must be in [0, 1), got {}", source, hidden_dropout_prob);
  KD_CHECK(attention_probs_dropout_prob >= 0 && attention_probs_dropout_prob < 1,
           "{}: attention_probs_dropout_prob must be in [0, 1), got {}", source,
           attention_probs_dropout_prob);
  KD_CHECK(layer_norm_eps > 0, "{}: layer_norm_eps must be > 0, got {}", source, layer_norm_eps);
  KD_CHECK(initializer_range > 0, "{}: initializer_range must be > 0, got {}", source,
           initializer_range);
  KD_CHECK_HINT(known_activation(hidden_act), "use \"gelu\" (erf), \"gelu_new\" (tanh) or \"relu\"",
                "{}: hidden_act '{}' is not supported", source, hidden_act);
  KD_CHECK(static_cast<int64_t>(layers.size()) == num_hidden_layers,
           "{}: {} per-layer entries for num_hidden_layers {}", source, layers.size(),
           num_hidden_layers);
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerDims& d = layers[l];
    KD_CHECK(d.num_heads >= 0, "{}: layer {} num_attention_heads must be >= 0, got {}", source, l,
             d.num_heads);
    KD_CHECK(d.qk_head_size >= 0, "{}: layer {} attention_head_size must be >= 0, got {}", source,
             l, d.qk_head_size);
    KD_CHECK(d.v_head_size >= 0, "{}: layer {} value_head_size must be >= 0, got {}", source, l,
             d.v_head_size);
    KD_CHECK(d.intermediate_size >= 0, "{}: layer {} intermediate_size must be >= 0, got {}",
             source, l, d.intermediate_size);
  }
}

int64_t BertConfig::num_parameters() const {
  const int64_t H = hidden_size;
  int64_t n = (vocab_size + max_position_embeddings + type_vocab_size) * H + 2 * H;  // embeddings
  for (size_t l = 0; l < layers.size(); ++l) n += layer_num_parameters(l);
  n += H * H + H;                       // pooler
  n += H * H + H + 2 * H + vocab_size;  // MLM transform + LayerNorm + decoder bias (tied W)
  n += 2 * H + 2;                       // NSP
  return n;
}

int64_t BertConfig::layer_num_parameters(size_t layer) const {
  KD_CHECK(layer < layers.size(), "layer {} out of range ({} layers)", layer, layers.size());
  const LayerDims& d = layers[layer];
  const int64_t H = hidden_size;
  const int64_t qk = d.num_heads * d.qk_head_size, v = d.num_heads * d.v_head_size;
  const int64_t F = d.intermediate_size;
  return 2 * (qk * H + qk) + (v * H + v) + (H * v + H) + 2 * H  // attention + LayerNorm
         + (F * H + F) + (H * F + H) + 2 * H;                   // feed-forward + LayerNorm
}

}  // namespace kd::model
