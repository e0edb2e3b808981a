// The examples of kdprune-prep tasks' embedded downstream tasks, built from data already on the
// machine (WordNet, GCIDE, the SpamAssassin corpus); task_writer splits, caps and writes them.
//   wn_supersense  a synset's gloss -> its lexicographer file (noun.animal, verb.motion, ...)
//   gcide_fields   a GCIDE definition -> its subject-field label (Zool., Bot., Law, ...)
//   wn_gloss_pair  (lemma, gloss) -> defines | other, the other glosses from related synsets
//   spam           a mail -> ham | spam;  spam_kind: easy_ham | hard_ham | spam
#pragma once
#include <string>
#include <vector>

#include "gcide_reader.h"
#include "spam_assassin_reader.h"
#include "task_writer.h"
#include "wordnet_db.h"

namespace kd::prep {

struct BuiltTask {
  TaskDefinition def;
  std::vector<TaskExample> examples;
  std::string note;  // what was left out, for the log
};

// Glosses that occur in more than one synset are left out (no gloss text in two splits).
BuiltTask build_wn_supersense(const WordNetDb& db, const std::vector<std::string>& lexnames);

// One positive per (lemma, synset) and one negative with the same lemma: the gloss of a sibling
// (same hypernym; for adjective satellites, same head), the hypernym, a hyponym or an antonym
// that does not hold the lemma. Synsets go to splits by their family (the first hypernym, a
// satellite's head, else the synset itself), so siblings share a split; a lemma goes with its
// first synset (data file order) and its pairs with synsets of other splits are not used, so a
// lemma and a gloss are each in one split only.
BuiltTask build_wn_gloss_pair(const WordNetDb& db, uint64_t seed);

struct GcideDefinition {
  std::string headword, text, field;
};
// Every GCIDE definition that has a field label, the label stripped from its text.
std::vector<GcideDefinition> gcide_labelled_definitions(const std::string& path);

// The fields with at least min_definitions definitions (at most max_classes, most frequent
// first); definition texts that occur more than once are left out.
BuiltTask build_gcide_fields(const std::vector<GcideDefinition>& defs, size_t min_definitions,
                             size_t max_classes);

// spam (ham | spam) and spam_kind (easy_ham | hard_ham | spam) over the same mails: texts that
// occur more than once keep their first mail, or none if the copies disagree on the kind.
std::vector<BuiltTask> build_spam_tasks(const SpamAssassinData& data);

}  // namespace kd::prep
