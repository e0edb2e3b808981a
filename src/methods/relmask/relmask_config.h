// `kdprune relmask` configuration: LAMP relation masks over a frozen model, one mask set per
// relation, relations trained concurrently by groups of ranks.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "methods/probing/probe_sets.h"
#include "methods/relmask/relation_masks.h"
#include "train/train_config.h"

namespace kd::methods {

// The shared probe-set section plus the specialisation matrix's sample size.
struct RelmaskProbeSection : ProbeSetSection {
  int64_t specialisation_facts = 500;  // test facts per cell of the specialisation matrix; 0 = off
  template <class V>
  void visit(V& v) {
    ProbeSetSection::visit(v);
    v("specialisation_facts", specialisation_facts,
      "test facts per (mask, relation) cell of the specialisation matrix; 0 = skip it");
  }
  void validate() const;
};

struct MaskSection : relmask::MaskOptions {
  bool save_logits = false;  // hard masks are always saved (bit-packed)
  bool shared_init = false;  // every relation starts from one draw of the prior
  template <class V>
  void visit(V& v) {
    v("kind", kind, "deterministic (straight-through) | stochastic (relaxed Bernoulli)");
    v("prior", prior, "normal | constant (a constant hard mask starts all kept or all pruned)");
    v("init", init, "normal mean or constant value of the mask logits (normal, 0: 50% sparsity)");
    v("init_std", init_std);
    v("temperature", temperature, "tau of the stochastic mask");
    v("threshold", threshold, "hard mask: sigmoid(G) > threshold");
    v("eval", eval, "inference mask: hard | expectation (sigmoid(G); saves the logits)");
    v("shared_init", shared_init,
      "all relations start from one draw of the prior (default: one draw per relation)");
    v("first_layer", first_layer, "l_b, 0-based");
    v("last_layer", last_layer, "l_t, inclusive; -1 = last");
    v("save_logits", save_logits, "also save the real-valued mask logits");
  }
};

struct RelmaskConfig : train::JobConfig {
  FrozenModelSection model;
  RelmaskProbeSection probes;
  MaskSection masks;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("model", model);
    v("probes", probes);
    v("masks", masks);
  }
  void validate() const;
};

// The command as a library call on `comm` (the world, or a group of it).
int run_relmask(const RelmaskConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods
