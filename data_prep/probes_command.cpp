// kdprune-prep probes: LAMA-format JSONL probe sets from WordNet relation facts.
//   DIR/{train,dev,test}/<Relation>.jsonl                  probe template (also in the corpus)
//   DIR/{train,dev,test}/<Relation>.heldout_template.jsonl template never in the corpus
//   DIR/relations.jsonl                                    templates per relation
// Objects are single WordPiece tokens; the split is by subject (80/10/10 by a hash), so no
// subject of dev/test is seen in train. --source lama writes LAMA's records (ConceptNet, T-REx,
// Google-RE) into the same DIR/{train,dev,test}/<relation>.jsonl layout and split.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/check.h"
#include "text/lama_reader.h"
#include "wordnet_relations.h"

namespace kd::prep {
namespace fs = std::filesystem;
namespace {

struct ProbeOptions {
  std::vector<std::string> sources{"wordnet"};
  std::string out, vocab, wordnet_dir = "/usr/share/wordnet";
  std::vector<std::string> lama_inputs;
  std::string lama_relations;
  uint64_t seed = 12345;
};

uint64_t fnv(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Split by subject, as the WordNet probes: 80% train, 10% dev, 10% test of the subjects.
int split_of(const std::string& subject, uint64_t seed) {
  const uint64_t h = fnv(subject, seed) % 10;
  return h < 8 ? 0 : (h == 8 ? 1 : 2);
}

// LAMA JSONL files (ConceptNet, T-REx, Google-RE) -> DIR/{train,dev,test}/<relation>.jsonl in
// the same record format and subject split as the WordNet probes, so relmask and prompt read
// them as they are (the paper trains and tests on one file; kdprune keeps subjects apart).
int run_lama(const ProbeOptions& o) {
  KD_CHECK(!o.lama_inputs.empty(), "--source lama needs --lama-input FILES");
  std::map<std::string, std::string> templates;
  if (!o.lama_relations.empty()) templates = text::read_lama_relation_templates(o.lama_relations);
  std::vector<text::ProbeRecord> records;
  for (const auto& path : o.lama_inputs) {
    auto r = text::read_lama_jsonl(path, text::LamaSource::kAuto,
                                   templates.empty() ? nullptr : &templates, records);
    if (!r.error.empty() || r.bad_lines || r.no_cloze)
      std::fprintf(stderr, "[prep] %s: %s%llu malformed lines, %llu without a cloze sentence\n",
                   path.c_str(), r.error.empty() ? "" : (r.error + "; ").c_str(),
                   (unsigned long long)r.bad_lines, (unsigned long long)r.no_cloze);
  }
  const char* splits[] = {"train", "dev", "test"};
  for (const char* s : splits) fs::create_directories(o.out + "/" + s);
  std::map<std::string, std::array<size_t, 3>> counts;
  std::map<std::string, std::ofstream> files;
  for (const auto& r : records) {
    const std::string name = r.relation.empty() ? "unknown" : r.relation;
    const int split = split_of(r.sub_label, o.seed);
    const std::string path = o.out + "/" + splits[split] + "/" + name + ".jsonl";
    auto it = files.find(path);
    if (it == files.end()) it = files.emplace(path, std::ofstream(path)).first;
    KD_CHECK(it->second.good(), "cannot write {}", path);
    it->second << r.to_json_line() << '\n';
    ++counts[name][split];
  }
  for (auto& [path, f] : files) {
    f.close();
    KD_CHECK(!f.fail(), "writing {} failed (disk full?)", path);
  }
  std::printf("probes summary (%s): LAMA records per relation, split by subject\n", o.out.c_str());
  std::printf("  %-24s %8s %8s %8s\n", "relation", "train", "dev", "test");
  for (const auto& [name, n] : counts)
    std::printf("  %-24s %8zu %8zu %8zu\n", name.c_str(), n[0], n[1], n[2]);
  return records.empty() ? 2 : 0;
}

int run_probes(const ProbeOptions& o) {
  if (o.sources.size() == 1 && o.sources[0] == "lama") return run_lama(o);
  for (const auto& s : o.sources)
    KD_CHECK(s == "wordnet", "unknown probe --source '{}' (known: wordnet, lama)", s);
  auto tok = text::WordPieceTokenizer::from_vocab_file(o.vocab, true);
  WordNetDb db(o.wordnet_dir);
  auto facts = wordnet_facts(db, tok);
  const auto& specs = relation_specs();
  const char* splits[] = {"train", "dev", "test"};
  std::map<std::pair<std::string, int>, std::unique_ptr<std::ofstream>> files;
  std::map<std::pair<int, int>, size_t> counts;
  for (const char* s : splits) fs::create_directories(o.out + "/" + s);
  auto file = [&](int split, const std::string& name) -> std::ofstream& {
    auto& f = files[{name, split}];
    if (!f)
      f = std::make_unique<std::ofstream>(o.out + "/" + splits[split] + "/" + name + ".jsonl");
    return *f;
  };
  for (size_t i = 0; i < facts.facts.size(); ++i) {
    if (!facts.object_single_token[i]) continue;
    const Fact& f = facts.facts[i];
    const auto& spec = specs[f.relation];
    const int split = split_of(f.subject, o.seed);
    for (int heldout = 0; heldout < 2; ++heldout) {
      const std::string& tmpl = heldout ? spec.heldout_template : spec.templates[0];
      nlohmann::json j = {{"sub_label", f.subject},
                          {"obj_label", f.object},
                          {"pred", spec.name},
                          {"predicate_id", spec.name},
                          {"template", tmpl},
                          {"masked_sentences", {fill_template(tmpl, f.subject, "[MASK]")}},
                          {"uuid", fmt::format("wn-{}-{}", spec.name, i)}};
      file(split, heldout ? spec.name + ".heldout_template" : spec.name) << j.dump() << '\n';
    }
    ++counts[{f.relation, split}];
  }
  std::ofstream rel(o.out + "/relations.jsonl");
  for (const auto& spec : specs)
    rel << nlohmann::json{{"relation", spec.name},
                          {"template", spec.templates[0]},
                          {"heldout_template", spec.heldout_template},
                          {"corpus_templates", spec.templates}}
               .dump()
        << '\n';
  std::printf("probes summary (%s): facts with single-token objects, split by subject\n",
              o.out.c_str());
  std::printf("  %-10s %8s %8s %8s\n", "relation", "train", "dev", "test");
  size_t total = 0;
  for (size_t r = 0; r < specs.size(); ++r) {
    size_t a = counts[{r, 0}], b = counts[{r, 1}], c = counts[{r, 2}];
    total += a + b + c;
    std::printf("  %-10s %8zu %8zu %8zu\n", specs[r].name.c_str(), a, b, c);
  }
  return total > 0 ? 0 : 2;
}

}  // namespace

Runner register_probes(CLI::App& app) {
  auto o = std::make_shared<ProbeOptions>();
  app.add_option("--source", o->sources, "wordnet, or lama (with --lama-input)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--lama-input", o->lama_inputs, "LAMA JSONL files (ConceptNet, T-REx, Google-RE)")
      ->delimiter(',');
  app.add_option("--lama-relations", o->lama_relations,
                 "LAMA relation templates (LAMA_relations.jsonl) for T-REx / Google-RE");
  app.add_option("--out", o->out, "output directory")->required();
  app.add_option("--vocab", o->vocab, "vocab.txt (objects must be single tokens)")
      ->default_val(std::string(KD_SOURCE_DIR) + "/data/vocab/bert-base-uncased-vocab.txt");
  app.add_option("--wordnet-dir", o->wordnet_dir)->capture_default_str();
  app.add_option("--seed", o->seed, "subject split hash seed")->capture_default_str();
  return [o] { return run_probes(*o); };
}

KD_COMMAND("kdprune-prep", "probes", "LAMA-format JSONL probe sets from WordNet relations",
           register_probes);

}  // namespace kd::prep
