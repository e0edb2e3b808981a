// kdprune-prep corpus: the embedded default corpus (WordNet glosses + examples + relation facts
// as sentences, GCIDE definitions), one sentence per line, a blank line between documents.
//   wordnet.txt: one document per synset: "dog, domestic dog: a member of the genus canis ...",
//                its examples, then its relation facts from 2 templates each (the probe
//                template and one more, picked by a hash of the fact)
//   wordnet-facts.txt: the same documents with only the relation facts, those with one-token
//                objects, each object marked as a salient span (U+2063 around it); a fact of a
//                smaller relation is repeated (both sentences) up to --fact-repeats times, toward
//                the largest relation's count (IsA has 83% of the facts)
//   gcide.txt:   one document per headword: "abdomen: the belly, or that part of the body ..."
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "commands.h"
#include "common/check.h"
#include "common/log.h"
#include "gcide_reader.h"
#include "text/pretraining_instances.h"
#include "text/sentence_splitter.h"
#include "wordnet_relations.h"

namespace kd::prep {
namespace fs = std::filesystem;
namespace {

struct CorpusOptions {
  std::vector<std::string> sources{"wordnet", "gcide"};
  std::string out, vocab, wordnet_dir = "/usr/share/wordnet",
                          gcide_path = "/usr/share/dictd/gcide.dict.dz";
  int fact_repeats = 4;  // wordnet-facts: most repeats of a smaller relation's fact
};

struct Counts {
  size_t documents = 0, sentences = 0, bytes = 0;
};

class DocWriter {
 public:
  explicit DocWriter(const std::string& path) : path_(path), tmp_(path + ".partial"), out_(tmp_) {
    KD_CHECK(out_.good(), "cannot write '{}'", tmp_);
  }
  void sentence(const std::string& s) {
    if (s.empty()) return;
    out_ << s << '\n';
    ++c.sentences;
    c.bytes += s.size() + 1;
    open_ = true;
  }
  void end_document() {
    if (!open_) return;
    out_ << '\n';
    ++c.documents;
    open_ = false;
  }
  void close() {
    end_document();
    out_.close();
    KD_CHECK(!out_.fail(), "write error on '{}'", tmp_);
    fs::rename(tmp_, path_);
  }
  Counts c;

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool open_ = false;
};

std::string ensure_period(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (!s.empty() && s.back() != '.' && s.back() != '!' && s.back() != '?') s += " .";
  return s;
}

std::string join_words(const std::vector<std::string>& w, size_t max) {
  std::string s;
  for (size_t i = 0; i < w.size() && i < max; ++i) s += (i ? ", " : "") + w[i];
  return s;
}

// facts_only: the relation-fact sentences alone (wordnet-facts.txt), and only the facts whose
// object is one WordPiece (those a one-[MASK] cloze can ask): the dense corpus the quickstart
// teacher learns facts from in minutes; otherwise glosses, examples and every fact.
Counts write_wordnet(const CorpusOptions& o, const text::WordPieceTokenizer& tok, bool facts_only,
                     size_t& facts_out) {
  WordNetDb db(o.wordnet_dir);
  auto facts = wordnet_facts(db, tok);
  facts_out = 0;
  // Facts grouped by their subject synset, so they land in that synset's document.
  std::unordered_map<const WordNetSynset*, std::vector<size_t>> by_synset;
  for (size_t i = 0; i < facts.facts.size(); ++i)
    by_synset[facts.facts[i].subject_synset].push_back(i);
  const auto& specs = relation_specs();
  // wordnet-facts: relation R's facts written min(fact_repeats, round(largest / |R|)) times, so a
  // short run sees the small relations' facts more than once (the probe averages relations).
  std::vector<size_t> per_relation(specs.size(), 0), repeats(specs.size(), 1);
  if (facts_only) {
    for (size_t i = 0; i < facts.facts.size(); ++i)
      per_relation[facts.facts[i].relation] += facts.object_single_token[i];
    const size_t largest = *std::max_element(per_relation.begin(), per_relation.end());
    for (size_t r = 0; r < specs.size(); ++r)
      if (per_relation[r] > 0)
        repeats[r] = std::clamp<size_t>(
            static_cast<size_t>(std::llround(double(largest) / double(per_relation[r]))), 1,
            static_cast<size_t>(o.fact_repeats));
  }
  text::SentenceSplitter splitter;
  DocWriter w(o.out + (facts_only ? "/wordnet-facts.txt" : "/wordnet.txt"));
  for (const auto& s : db.synsets()) {
    if (s.words.empty()) continue;
    if (!facts_only && !s.definition.empty()) {
      auto sents = splitter.split(s.definition);
      for (size_t k = 0; k < sents.size(); ++k)
        w.sentence(ensure_period(k == 0 ? join_words(s.words, 4) + ": " + std::string(sents[k])
                                        : std::string(sents[k])));
    }
    if (!facts_only)
      for (const auto& ex : s.examples) w.sentence(ensure_period(ex));
    auto it = by_synset.find(&s);
    if (it != by_synset.end()) {
      for (size_t fi : it->second) {
        if (facts_only && !facts.object_single_token[fi]) continue;
        const Fact& f = facts.facts[fi];
        ++facts_out;
        const auto& spec = specs[f.relation];
        // wordnet-facts marks the object as a salient span (pretraining-data --salient-spans).
        const std::string object =
            facts_only ? text::kSalientMarker + f.object + text::kSalientMarker : f.object;
        size_t h =
            std::hash<std::string>{}(f.subject + "|" + f.object) % (spec.templates.size() - 1);
        for (size_t k = 0; k < repeats[f.relation]; ++k) {
          w.sentence(fill_template(spec.templates[0], f.subject, object));
          w.sentence(fill_template(spec.templates[1 + h], f.subject, object));
        }
      }
    }
    w.end_document();
  }
  w.close();
  return w.c;
}

Counts write_gcide(const CorpusOptions& o, GcideStats& st) {
  text::SentenceSplitter splitter;
  DocWriter w(o.out + "/gcide.txt");
  st = read_gcide(o.gcide_path, [&](const GcideEntry& e) {
    std::string head = e.headword;
    for (const auto& d : e.definitions) {
      auto sents = splitter.split(d);
      for (size_t k = 0; k < sents.size(); ++k) {
        std::string s(sents[k]);
        // A phrase definition ("abdominal ring: ...") already names its subject.
        bool named = k > 0 || s.find(": ") != std::string::npos;
        w.sentence(named ? s : head + ": " + s);
      }
    }
    w.end_document();
  });
  w.close();
  return w.c;
}

int run_corpus(const CorpusOptions& o) {
  fs::create_directories(o.out);
  auto tok = text::WordPieceTokenizer::from_vocab_file(o.vocab, true);
  std::printf("corpus summary (%s)\n", o.out.c_str());
  Counts total;
  for (const auto& src : o.sources) {
    Counts c;
    if (src == "wordnet" || src == "wordnet-facts") {
      size_t facts = 0;
      c = write_wordnet(o, tok, src == "wordnet-facts", facts);
      std::printf(
          "  %-12s %zu documents, %zu sentences (%zu relation facts%s), %.1f MB\n",
          (src + ".txt").c_str(), c.documents, c.sentences, facts,
          src == "wordnet-facts"
              ? fmt::format(", smaller relations' repeated up to {}x", o.fact_repeats).c_str()
              : "",
          c.bytes / 1e6);
    } else if (src == "gcide") {
      GcideStats st;
      c = write_gcide(o, st);
      std::printf("  gcide.txt    %zu documents, %zu sentences (%zu definitions), %.1f MB\n",
                  c.documents, c.sentences, st.definitions, c.bytes / 1e6);
    } else {
      KD_FAIL("unknown --source '{}' (known: wordnet, wordnet-facts, gcide)", src);
    }
    total.documents += c.documents;
    total.sentences += c.sentences;
    total.bytes += c.bytes;
  }
  std::printf("  total        %zu documents, %zu sentences, %.1f MB\n", total.documents,
              total.sentences, total.bytes / 1e6);
  return total.documents > 0 ? 0 : 2;
}

}  // namespace

Runner register_corpus(CLI::App& app) {
  auto o = std::make_shared<CorpusOptions>();
  app.add_option("--source", o->sources,
                 "wordnet, wordnet-facts (one-token-object relation facts only), gcide")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--out", o->out, "output directory")->required();
  app.add_option("--vocab", o->vocab, "vocab.txt (relation objects prefer single-token words)")
      ->default_val(std::string(KD_SOURCE_DIR) + "/data/vocab/bert-base-uncased-vocab.txt");
  app.add_option("--fact-repeats", o->fact_repeats,
                 "wordnet-facts: repeat a smaller relation's facts up to this many times, toward "
                 "the largest relation's count (1: every fact once)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--wordnet-dir", o->wordnet_dir)->capture_default_str();
  app.add_option("--gcide", o->gcide_path)->capture_default_str();
  return [o] { return run_corpus(*o); };
}

KD_COMMAND("kdprune-prep", "corpus", "write the embedded default corpus from WordNet and GCIDE",
           register_corpus);

}  // namespace kd::prep
