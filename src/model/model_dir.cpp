#include "model/model_dir.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/check.h"
#include "common/file_io.h"
#include "common/json_file.h"
#include "common/log.h"
#include "common/strings.h"
#include "model/safetensors.h"
#include "model/shape_util.h"

namespace kd::model {
namespace {
namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

// The config.json field(s) that determine a tensor's shape, for error messages.
std::string config_field_for(const std::string& name) {
  static const std::regex layer_re(R"(bert\.encoder\.layer\.(\d+)\.(.*))");
  std::smatch m;
  if (std::regex_match(name, m, layer_re)) {
    const std::string l = m[1], rest = m[2];
    const std::string per = " (layer " + l + ")";
    if (rest.find("attention.self.query") == 0 || rest.find("attention.self.key") == 0)
      return "num_attention_heads x attention head size (layer_num_attention_heads/"
             "layer_attention_head_size)" +
             per + " and hidden_size";
    if (rest.find("attention.self.value") == 0 || rest.find("attention.output.dense") == 0)
      return "num_attention_heads x value head size (layer_num_attention_heads/"
             "layer_value_head_size)" +
             per + " and hidden_size";
    if (rest.find("intermediate.dense") == 0 || rest.find("output.dense") == 0)
      return "intermediate_size (layer_intermediate_size)" + per + " and hidden_size";
    return "hidden_size";
  }
  if (name.find("word_embeddings") != std::string::npos) return "vocab_size and hidden_size";
  if (name.find("position_embeddings") != std::string::npos)
    return "max_position_embeddings and hidden_size";
  if (name.find("token_type_embeddings") != std::string::npos)
    return "type_vocab_size and hidden_size";
  if (name == "cls.predictions.bias") return "vocab_size";
  return "hidden_size";
}

// Maps a checkpoint name to our (HF BertForPreTraining) name.
std::string normalise_name(std::string name, bool add_bert_prefix) {
  if (add_bert_prefix && !starts_with(name, "cls.") && !starts_with(name, "bert."))
    name = "bert." + name;
  // Old TF-converted checkpoints: LayerNorm.gamma/beta.
  if (ends_with(name, "LayerNorm.gamma")) name.replace(name.size() - 5, 5, "weight");
  if (ends_with(name, "LayerNorm.beta")) name.replace(name.size() - 4, 4, "bias");
  return name;
}

// Heads that other HF BERT classes may lack as a whole; "" for tensors that must be present.
std::string head_group(const std::string& name) {
  if (starts_with(name, "cls.predictions.")) return "mlm";
  if (starts_with(name, "cls.seq_relationship.")) return "nsp";
  if (starts_with(name, "bert.pooler.")) return "pooler";
  return "";
}

}  // namespace

void load_weights_into(const std::string& dir, BertForPreTraining& model) {
  auto loaded = load_model_dir(dir);
  torch::NoGradGuard no_grad;
  auto src = loaded->named_parameters();
  for (auto& item : model->named_parameters()) {
    auto* t = src.find(item.key());
    KD_CHECK(t != nullptr, "checkpoint model {} lacks parameter {}", dir, item.key());
    item.value().copy_(*t);
  }
}

BertConfig load_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  const auto j = read_json_file(
      path.string(), "pass a model directory with config.json, model.safetensors, vocab.txt");
  return BertConfig::from_json(j, path.string());
}

void write_dir_atomically(const std::string& dir,
                          const std::function<void(const std::string& tmp)>& fill) {
  fs::path target = fs::absolute(fs::path(dir)).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/model/" -> "out/model"
  const fs::path parent = target.parent_path();
  fs::create_directories(parent);
  const fs::path tmp = parent / (target.filename().string() + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fill(tmp.string());
  fsync_path(tmp.string());

  // Swap into place: rename is atomic for a fresh target; an existing one is moved aside first.
  const fs::path old = parent / (target.filename().string() + ".old." + std::to_string(::getpid()));
  const bool existed = fs::exists(target);
  if (existed) fs::rename(target, old);
  fs::rename(tmp, target);
  if (existed) fs::remove_all(old);
  fsync_path(parent.string());
}

void copy_vocab(const std::string& vocab_source, const std::string& dir, int64_t vocab_size) {
  if (vocab_source.empty()) return;
  KD_CHECK_HINT(fs::exists(vocab_source), "pass the vocab.txt the model was trained with",
                "{}: vocabulary {} not found", dir, vocab_source);
  const fs::path to = fs::path(dir) / "vocab.txt";
  fs::copy_file(vocab_source, to, fs::copy_options::overwrite_existing);
  fsync_path(to.string());
  std::ifstream v(vocab_source);
  int64_t lines = 0;
  for (std::string line; std::getline(v, line);) ++lines;
  if (lines != vocab_size)
    log_warn("model", "{}: vocab.txt has {} entries but vocab_size is {}", dir, lines, vocab_size);
}

void save_model_dir(const std::string& dir, BertForPreTraining& model,
                    const std::string& vocab_source) {
  write_dir_atomically(dir, [&](const std::string& tmp) {
    const BertConfig& cfg = model->config();
    write_file_atomic(tmp + "/config.json", cfg.to_json().dump(2) + "\n");
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& p : model->named_parameters())
      tensors.emplace_back(p.key(), p.value().detach().to(torch::kFloat));
    save_safetensors(tmp + "/model.safetensors", tensors, {{"format", "pt"}});  // HF: format=pt
    copy_vocab(vocab_source, tmp, cfg.vocab_size);
  });
}

BertForPreTraining load_model_dir(const std::string& dir,
                                  const std::function<void(BertConfig&)>& adjust_config) {
  BertConfig cfg = load_config(dir);
  if (adjust_config) adjust_config(cfg);
  const fs::path wpath = fs::path(dir) / "model.safetensors";
  KD_CHECK_HINT(fs::exists(wpath),
                "kdprune reads safetensors weights; convert pytorch_model.bin with the "
                "safetensors package (safetensors.torch.save_file) first",
                "{}: model.safetensors not found", dir);
  auto raw = load_safetensors(wpath.string());

  // Naming variants: BertModel without the `bert.` prefix (embeddings.*, encoder.*, pooler.*).
  bool any_bert = false;
  for (const auto& [name, t] : raw) any_bert |= starts_with(name, "bert.");
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, t] : raw) {
    const std::string n = normalise_name(name, !any_bert);
    KD_CHECK(!tensors.count(n), "{}: tensors '{}' and another one both map to '{}'", wpath.string(),
             name, n);
    tensors[n] = t;
  }

  BertForPreTraining model(cfg);
  model->init_weights(0);  // only heads absent from the checkpoint keep these values
  // HF checkpoints of other BERT classes lack whole heads: BertModel has no cls.*, and
  // BertForMaskedLM no pooler and no NSP head. A head that is absent as a whole keeps its fresh
  // init (with a warning); a head that is present only in part is an error.
  std::set<std::string> groups_present;
  for (const auto& [name, t] : tensors) groups_present.insert(head_group(name));
  // HF ties cls.predictions.decoder.bias to cls.predictions.bias; accept either.
  if (!tensors.count("cls.predictions.bias") && tensors.count("cls.predictions.decoder.bias"))
    tensors["cls.predictions.bias"] = tensors["cls.predictions.decoder.bias"];

  std::set<std::string> used;
  std::vector<std::string> fresh;
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    const std::string& name = p.key();
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      const std::string group = head_group(name);
      KD_CHECK_HINT(!group.empty() && !groups_present.count(group),
                    "the checkpoint must hold every BertForPreTraining tensor",
                    "{}: tensor '{}' missing", wpath.string(), name);
      fresh.push_back(name);
      continue;
    }
    const torch::Tensor& src = it->second;
    const auto st = src.scalar_type();
    KD_CHECK(
        st == torch::kFloat || st == torch::kHalf || st == torch::kBFloat16 || st == torch::kDouble,
        "{}: tensor '{}' has dtype {}; floating point (F32/F16/BF16/F64) expected", wpath.string(),
        name, c10::toString(st));
    KD_CHECK_HINT(src.sizes() == p.value().sizes(),
                  "config.json and model.safetensors must come from the same model",
                  "{}: tensor '{}' has shape {} but config.json implies {} (from {})",
                  wpath.string(), name, shape_str(src.sizes()), shape_str(p.value().sizes()),
                  config_field_for(name));
    p.value().copy_(src.to(torch::kFloat));
    used.insert(name);
  }
  if (!fresh.empty())
    log_warn("model",
             "{}: checkpoint without some pre-training heads; {} head tensors initialised "
             "randomly (their outputs are meaningless until trained): {}",
             dir, fresh.size(), fmt::join(fresh, ", "));

  std::vector<std::string> extra;
  for (const auto& [name, t] : tensors) {
    if (used.count(name)) continue;
    if (name == "cls.predictions.decoder.bias" || name == "bert.embeddings.position_ids") continue;
    if (name == "cls.predictions.decoder.weight") {
      // Tied to the word embeddings; a checkpoint storing it must agree in shape.
      KD_CHECK(t.sizes() == model->embeddings->word_embeddings->weight.sizes(),
               "{}: cls.predictions.decoder.weight has shape {}, word embeddings are {}",
               wpath.string(), shape_str(t.sizes()),
               shape_str(model->embeddings->word_embeddings->weight.sizes()));
      continue;
    }
    extra.push_back(name);
  }
  if (!extra.empty())
    log_warn("model", "{}: {} unexpected tensors ignored: {}", wpath.string(), extra.size(),
             fmt::join(extra, ", "));
  model->eval();  // like HF from_pretrained: call train() before training
  return model;
}

std::string describe_config(const BertConfig& cfg) {
  std::ostringstream o;
  const int64_t H = cfg.hidden_size;
  o << fmt::format(
      "hidden_size H={}  vocab_size={}  layers={}  max_position_embeddings={}  "
      "type_vocab_size={}  hidden_act={}\n",
      H, cfg.vocab_size, cfg.num_hidden_layers, cfg.max_position_embeddings, cfg.type_vocab_size,
      cfg.hidden_act);
  o << fmt::format("{:>5}  {:>5}  {:>7}  {:>6}  {:>7}  {:>5}  {:>14}\n", "layer", "A", "k(q/k)",
                   "v", "F", "H", "parameters");
  int64_t encoder = 0;
  for (size_t l = 0; l < cfg.layers.size(); ++l) {
    const auto& d = cfg.layers[l];
    const int64_t n = cfg.layer_num_parameters(l);
    encoder += n;
    o << fmt::format("{:>5}  {:>5}  {:>7}  {:>6}  {:>7}  {:>5}  {:>14L}\n", l, d.num_heads,
                     d.qk_head_size, d.v_head_size, d.intermediate_size, H, n);
  }
  const int64_t emb =
      (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * H + 2 * H;
  const int64_t total = cfg.num_parameters();
  o << fmt::format("embeddings: {}   encoder: {}   pooler + heads: {}\n", emb, encoder,
                   total - emb - encoder);
  o << fmt::format("total parameters: {} ({:.2f}M, decoder tied to word embeddings)\n", total,
                   total / 1e6);
  return o.str();
}

nlohmann::json describe_config_json(const BertConfig& cfg) {
  const int64_t H = cfg.hidden_size;
  nlohmann::json layers = nlohmann::json::array();
  int64_t encoder = 0;
  for (size_t l = 0; l < cfg.layers.size(); ++l) {
    const auto& d = cfg.layers[l];
    const int64_t n = cfg.layer_num_parameters(l);
    encoder += n;
    layers.push_back({{"num_heads", d.num_heads},
                      {"qk_head_size", d.qk_head_size},
                      {"v_head_size", d.v_head_size},
                      {"intermediate_size", d.intermediate_size},
                      {"parameters", n}});
  }
  const int64_t emb =
      (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * H + 2 * H;
  return {{"hidden_size", H},
          {"vocab_size", cfg.vocab_size},
          {"num_hidden_layers", cfg.num_hidden_layers},
          {"max_position_embeddings", cfg.max_position_embeddings},
          {"type_vocab_size", cfg.type_vocab_size},
          {"layers", layers},
          {"parameters",
           {{"embeddings", emb},
            {"encoder", encoder},
            {"pooler_and_heads", cfg.num_parameters() - emb - encoder},
            {"total", cfg.num_parameters()}}}};
}

namespace {
// Loading the weights too checks that the directory is complete and consistent.
BertConfig checked_config_of(const std::string& dir) {
  auto model = load_model_dir(dir);
  const BertConfig& cfg = model->config();
  int64_t counted = 0;
  for (const auto& p : model->parameters()) counted += p.numel();
  KD_CHECK(counted == cfg.num_parameters(),
           "inspect: parameter count {} disagrees with the config formula {}", counted,
           cfg.num_parameters());
  return cfg;
}
}  // namespace

std::string inspect_model_dir(const std::string& dir) {
  return "model: " + dir + "\n" + describe_config(checked_config_of(dir));
}

nlohmann::json inspect_model_dir_json(const std::string& dir) {
  auto j = describe_config_json(checked_config_of(dir));
  j["model"] = dir;
  return j;
}

}  // namespace kd::model
