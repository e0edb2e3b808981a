// WordNet relation facts and their sentence templates, shared by `corpus` (which writes each
// fact as sentences) and `probes` (which turns facts into cloze queries). Every relation has
// corpus templates (the first is also the probe template, "seen") and one held-out template
// that is never written into the corpus, so probing can tell knowledge from string recall
// (chosen so that its fixed words occur nowhere in the WordNet + GCIDE corpus).
#pragma once
#include <string>
#include <vector>

#include "text/wordpiece_tokenizer.h"
#include "wordnet_db.h"

namespace kd::prep {

struct RelationSpec {
  std::string name;                    // "IsA"
  std::vector<std::string> symbols;    // WordNet pointer symbols, in the subject's synset
  std::vector<std::string> templates;  // corpus templates with [X] and [Y]; [0] = probe
  std::string heldout_template;        // never in the corpus
};

const std::vector<RelationSpec>& relation_specs();

struct Fact {
  int relation = 0;             // index into relation_specs()
  std::string subject, object;  // lower-case
  const WordNetSynset* subject_synset = nullptr;
};

// Lower-cased surface word for the object of a fact: the first word of the target synset that
// is a single WordPiece token, else its first word. `single` tells which case it was.
std::string object_word(const WordNetSynset& s, const text::WordPieceTokenizer& tok, bool& single);

// All facts with up to `max_subject_words` subject words per synset; object_single_token says
// whether the object is one WordPiece (probes keep only those).
struct FactList {
  std::vector<Fact> facts;
  std::vector<bool> object_single_token;
};
FactList wordnet_facts(const WordNetDb& db, const text::WordPieceTokenizer& tok,
                       size_t max_subject_words = 3);

// "[X] is a kind of [Y] ." with x, y filled in.
std::string fill_template(const std::string& tmpl, const std::string& x, const std::string& y);

}  // namespace kd::prep
