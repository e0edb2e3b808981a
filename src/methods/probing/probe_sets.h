// Probe sets as `kdprune-prep probes` writes them (DIR/{train,dev,test}/<relation>.jsonl) and the
// config sections that LAMP (`relmask`) and prompt tuning (`prompt`) share: the frozen model and
// which relations to train on.
#pragma once
#include <string>
#include <vector>

#include "model/bert.h"
#include "text/lama_reader.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods {

// Relations (and finetune's runs) train one after another in their own run directories, so
// `resume` can only be auto or never (a checkpoint path would name one relation's).
void validate_relation_resume(const std::string& resume);

struct FrozenModelSection {
  std::string dir;  // model directory (frozen)
  template <class V>
  void visit(V& v) {
    v("dir", dir, "model directory (Hugging Face layout), frozen");
  }
};

struct ProbeSetSection {
  std::string dir;                     // train/ dev/ test/ of `kdprune-prep probes`
  std::vector<std::string> relations;  // empty = every relation in train/
  int64_t batch_size = 32;
  double epochs = 0;  // passes over each relation's training facts; 0 = train.steps each
  int top_k = 10;
  template <class V>
  void visit(V& v) {
    v("dir", dir, "probe sets: DIR/{train,dev,test}/<relation>.jsonl (kdprune-prep probes)");
    v("relations", relations, "relations to train (empty: every train/<relation>.jsonl)");
    v("batch_size", batch_size, "facts per step and rank");
    v("epochs", epochs,
      "passes over each relation's training facts (steps follow from them); 0 = train.steps "
      "per relation");
    v("top_k", top_k, "k of P@k");
  }
  void validate() const;
};

// DIR/SPLIT/RELATION.jsonl; throws kd::Error naming the file when it is missing or unreadable.
std::vector<text::ProbeRecord> read_probe_split(const std::string& dir, const std::string& split,
                                                const std::string& relation);
// `section.relations`, or every DIR/train/<relation>.jsonl (held-out template files excluded),
// sorted. Throws when there is none.
std::vector<std::string> probe_relations(const ProbeSetSection& section);
// Optimizer steps for `epochs` passes over `examples` at `per_step` examples per step (all ranks
// and accumulation included): ceil(epochs · examples / per_step), at least 1; `steps` when
// epochs <= 0. What relmask, prompt, prompt-task and finetune all turn epochs into.
int64_t steps_for_epochs(double epochs, int64_t examples, int64_t per_step, int64_t steps);
// Optimizer steps for a relation with `facts` training facts on a group of `ranks` ranks:
// ceil(epochs · facts / (batch_size · ranks)) with probes.epochs, else `steps`.
int64_t relation_steps(const ProbeSetSection& section, int64_t steps, int64_t facts, int ranks);
// Each relation's cost in forward passes of one fact, which balances relations over rank groups:
// 3 per training fact processed (forward + backward), epochs · facts with probes.epochs (i.e. by
// training triples), else steps · batch_size, plus `eval_facts[r]` (its dev/test passes, which
// dominate short runs on large relations).
std::vector<int64_t> relation_work(const ProbeSetSection& section, int64_t steps,
                                   const std::vector<int64_t>& facts,
                                   const std::vector<int64_t>& eval_facts);
// Each relation's training facts and its relation_work, with evaluation counted as one pass
// over dev and `test_passes` over test (relmask: with the mask and with the full model).
struct ProbeWork {
  std::vector<int64_t> train_facts, work;
};
ProbeWork probe_work(const ProbeSetSection& section, int64_t steps,
                     const std::vector<std::string>& relations, int test_passes);

// A model to probe or to train masks/prompts over: loaded in eval mode (no dropout), every
// parameter frozen, bf16 matmuls for precision "bf16", moved to `device` ("cpu" | "cuda").
struct FrozenModel {
  model::BertForPreTraining model;
  text::WordPieceTokenizer tokenizer;
};
FrozenModel load_frozen_model(const std::string& dir, const std::string& precision,
                              const std::string& device);

}  // namespace kd::methods
