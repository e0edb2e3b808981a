#include "methods/relmask/relation_masks.h"

#include <cmath>

#include "common/check.h"
#include "model/safetensors.h"
#include "model/shape_util.h"

namespace kd::methods::relmask {
namespace {

constexpr const char* kLinearNames[6] = {"attention.self.query", "attention.self.key",
                                         "attention.self.value", "attention.output.dense",
                                         "intermediate.dense",   "output.dense"};

// W ⊙ M(G) for one linear; reads the relation's shared state (mode, options).
class MaskTransform : public model::WeightTransform {
 public:
  MaskTransform(std::shared_ptr<RelationMasks::State> state, size_t index)
      : state_(std::move(state)), index_(index) {}
  torch::Tensor weight(const torch::Tensor& w) override {
    const auto& g = state_->logits[index_];
    const auto& o = state_->options;
    torch::Tensor m;
    if (state_->training && o.kind == "stochastic") {
      auto u = torch::rand_like(g).clamp(1e-6, 1 - 1e-6);
      m = torch::sigmoid((g + torch::log(u) - torch::log1p(-u)) / o.temperature);
    } else if (!state_->training && o.eval == "expectation") {
      m = torch::sigmoid(g);
    } else {
      auto hard = (torch::sigmoid(g) > o.threshold).to(g.scalar_type());
      // Straight-through while training (value = hard mask, gradient = identity to G).
      m = state_->training ? (hard - g).detach() + g : hard;
    }
    return w * m;
  }
  // Masks are tied to the shapes they were trained for.
  void keep_rows(const torch::Tensor&) override {
    KD_FAIL("relation masks cannot follow structural surgery: detach them first");
  }
  void keep_cols(const torch::Tensor&) override {
    KD_FAIL("relation masks cannot follow structural surgery: detach them first");
  }

 private:
  std::shared_ptr<RelationMasks::State> state_;
  size_t index_;
};

}  // namespace

void validate(const MaskOptions& o) {
  KD_CHECK(o.kind == "deterministic" || o.kind == "stochastic",
           "masks.kind must be deterministic or stochastic (got '{}')", o.kind);
  KD_CHECK(o.prior == "constant" || o.prior == "normal",
           "masks.prior must be constant or normal (got '{}')", o.prior);
  KD_CHECK(o.eval == "hard" || o.eval == "expectation",
           "masks.eval must be hard or expectation (got '{}')", o.eval);
  KD_CHECK(o.init_std > 0, "masks.init_std must be > 0 (got {})", o.init_std);
  KD_CHECK(o.temperature > 0, "masks.temperature must be > 0 (got {})", o.temperature);
  KD_CHECK(o.threshold > 0 && o.threshold < 1, "masks.threshold must be in (0, 1) (got {})",
           o.threshold);
  KD_CHECK_HINT(o.first_layer >= 0 && (o.last_layer == -1 || o.last_layer >= o.first_layer),
                "0 <= masks.first_layer <= masks.last_layer (-1 = the last layer)",
                "masks.first_layer {} / masks.last_layer {} is not a layer range", o.first_layer,
                o.last_layer);
}

RelationMasks::RelationMasks(model::BertForPreTraining& model, const MaskOptions& options,
                             uint64_t seed)
    : state_(std::make_shared<State>()) {
  state_->options = options;
  const int64_t layers = model->num_layers();
  const int64_t first = options.first_layer;
  const int64_t last = options.last_layer < 0 ? layers - 1 : options.last_layer;
  KD_CHECK_HINT(first >= 0 && first <= last && last < layers,
                "choose 0 <= first_layer <= last_layer < the model's layers",
                "mask layers {}..{} are not within the model's {} layers", first, last, layers);
  validate(options);
  auto gen = at::detail::createCPUGenerator(seed);
  const auto linears = model->encoder_linears();
  for (int64_t l = first; l <= last; ++l)
    for (size_t k = 0; k < 6; ++k) {
      const size_t i = static_cast<size_t>(l) * 6 + k;
      const auto& w = linears.at(i)->weight;
      auto g = options.prior == "constant"
                   ? torch::full(w.sizes(), options.init)
                   : torch::normal(options.init, options.init_std, w.sizes(), gen);
      state_->logits.push_back(g.to(w.device()).set_requires_grad(true));
      names_.push_back(fmt::format("bert.encoder.layer.{}.{}.weight", l, kLinearNames[k]));
      linear_index_.push_back(i);
    }
}

void RelationMasks::attach(model::BertForPreTraining& model) {
  auto linears = model->encoder_linears();
  for (auto& lin : linears) lin->clear_transform();
  for (size_t j = 0; j < linear_index_.size(); ++j) {
    auto& lin = linears.at(linear_index_[j]);
    KD_CHECK(lin->weight.sizes() == state_->logits[j].sizes(),
             "mask for {} has shape {} but the weight is {}", names_[j],
             model::shape_str(state_->logits[j].sizes()), model::shape_str(lin->weight.sizes()));
    lin->set_transform(std::make_shared<MaskTransform>(state_, j));
  }
}

void RelationMasks::detach(model::BertForPreTraining& model) {
  for (auto& lin : model->encoder_linears()) lin->clear_transform();
}

torch::Tensor RelationMasks::hard_mask(size_t i) const {
  torch::NoGradGuard no_grad;
  return torch::sigmoid(state_->logits.at(i)) > state_->options.threshold;
}

void RelationMasks::set_hard_mask(size_t i, const torch::Tensor& keep) {
  torch::NoGradGuard no_grad;
  auto& g = state_->logits.at(i);
  auto k = keep.to(g.device());
  g.copy_(torch::where(k, torch::full_like(g, 10.0), torch::full_like(g, -10.0)));
}

std::vector<std::pair<std::string, torch::Tensor>> RelationMasks::named_logits() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < names_.size(); ++i) out.emplace_back(names_[i], state_->logits[i]);
  return out;
}

std::vector<double> RelationMasks::sparsity_per_matrix() const {
  std::vector<double> out;
  for (size_t i = 0; i < state_->logits.size(); ++i)
    out.push_back(1.0 - hard_mask(i).to(torch::kDouble).mean().item<double>());
  return out;
}

std::map<int64_t, double> RelationMasks::sparsity_per_layer() const {
  std::map<int64_t, std::pair<double, double>> zeros_total;
  const std::string prefix = "bert.encoder.layer.";
  for (size_t i = 0; i < state_->logits.size(); ++i) {
    const int64_t layer = std::stoll(names_[i].substr(prefix.size()));
    const double n = static_cast<double>(state_->logits[i].numel());
    zeros_total[layer].first += n - hard_mask(i).sum().item<double>();
    zeros_total[layer].second += n;
  }
  std::map<int64_t, double> out;
  for (const auto& [layer, zt] : zeros_total) out[layer] = zt.first / zt.second;
  return out;
}

double RelationMasks::sparsity() const {
  double zeros = 0, total = 0;
  for (size_t i = 0; i < state_->logits.size(); ++i) {
    const double n = static_cast<double>(state_->logits[i].numel());
    zeros += n - hard_mask(i).sum().item<double>();
    total += n;
  }
  return total > 0 ? zeros / total : 0.0;
}

torch::Tensor pack_bits(const torch::Tensor& mask) {
  auto flat = mask.to(torch::kCPU).to(torch::kUInt8).flatten().contiguous();
  const int64_t n = flat.numel(), bytes = (n + 7) / 8;
  auto padded = torch::zeros({bytes * 8}, torch::kUInt8);
  padded.narrow(0, 0, n).copy_(flat);
  auto weights = torch::tensor({1, 2, 4, 8, 16, 32, 64, 128}, torch::kUInt8);
  return (padded.view({bytes, 8}) * weights).sum(1).to(torch::kUInt8);
}

torch::Tensor unpack_bits(const torch::Tensor& packed, c10::IntArrayRef shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  KD_CHECK(packed.numel() == (n + 7) / 8, "packed mask has {} bytes, expected {} for shape {}",
           packed.numel(), (n + 7) / 8, model::shape_str(shape));
  auto bytes = packed.to(torch::kCPU).to(torch::kInt32).view({-1, 1});
  auto powers = torch::tensor({1, 2, 4, 8, 16, 32, 64, 128}, torch::kInt32).view({1, 8});
  auto bits = torch::div(bytes, powers, "floor").remainder(2).flatten().narrow(0, 0, n);
  return bits.to(torch::kBool).view(shape);
}

void RelationMasks::save(const std::string& path, bool with_logits) const {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (size_t i = 0; i < names_.size(); ++i) {
    tensors.emplace_back("mask." + names_[i], pack_bits(hard_mask(i)));
    tensors.emplace_back("shape." + names_[i],
                         torch::tensor(state_->logits[i].sizes().vec(), torch::kLong));
    if (with_logits) tensors.emplace_back("logits." + names_[i], state_->logits[i].detach());
  }
  model::save_safetensors(path, tensors,
                          {{"format", "kdprune relation masks (bit-packed, LSB first)"},
                           {"threshold", std::to_string(state_->options.threshold)},
                           {"eval", state_->options.eval}});
}

MaskOptions mask_options_of_file(const std::string& path) {
  auto file = model::read_safetensors(path);
  MaskOptions o;
  o.first_layer = -1;
  const std::string prefix = "mask.bert.encoder.layer.";
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    const int64_t layer = std::stoll(name.substr(prefix.size()));
    o.first_layer = o.first_layer < 0 ? layer : std::min(o.first_layer, layer);
    o.last_layer = std::max(o.last_layer, layer);
  }
  KD_CHECK_HINT(o.first_layer >= 0, "mask files are written by `kdprune relmask` (run_dir/masks)",
                "{}: no encoder-layer masks in this file", path);
  auto threshold = file.metadata.find("threshold");
  if (threshold != file.metadata.end()) o.threshold = std::stod(threshold->second);
  auto eval = file.metadata.find("eval");
  if (eval != file.metadata.end()) o.eval = eval->second;
  KD_CHECK_HINT(o.eval == "hard" || file.tensors.count("logits." + prefix.substr(5) +
                                                       std::to_string(o.first_layer) +
                                                       ".attention.self.query.weight"),
                "re-run relmask (it saves the logits when masks.eval is expectation)",
                "{}: masks meant for evaluation by their expectation σ(G) but the file has no "
                "logits",
                path);
  return o;
}

void RelationMasks::load(const std::string& path) {
  auto t = model::load_safetensors(path);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < names_.size(); ++i) {
    auto& g = state_->logits[i];
    auto logits = t.find("logits." + names_[i]);
    if (logits != t.end()) {
      KD_CHECK(logits->second.sizes() == g.sizes(), "{}: logits of {} have shape {}, expected {}",
               path, names_[i], model::shape_str(logits->second.sizes()),
               model::shape_str(g.sizes()));
      g.copy_(logits->second);
      continue;
    }
    auto mask = t.find("mask." + names_[i]);
    KD_CHECK(mask != t.end(), "{}: no mask for {} (masks of other layers?)", path, names_[i]);
    set_hard_mask(i, unpack_bits(mask->second, g.sizes()));
  }
}

}  // namespace kd::methods::relmask
