#include "wordnet_relations.h"
#include "common/strings.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace kd::prep {

const std::vector<RelationSpec>& relation_specs() {
  static const std::vector<RelationSpec> specs = {
      {"IsA",
       {"@", "@i"},
       {"[X] is a kind of [Y] .", "[X] is a type of [Y] .", "one kind of [Y] is [X] .",
        "[X] is a sort of [Y] ."},
       "[X] falls under the category of [Y] ."},
      {"PartOf",
       {"#p"},
       {"[X] is part of [Y] .", "[X] is a part of [Y] .", "the [X] is one part of the [Y] ."},
       "[X] is one piece of [Y] ."},
      {"HasPart",
       {"%p"},
       {"[X] has [Y] as a part .", "one part of [X] is [Y] .", "[X] has a part called [Y] ."},
       "[X] has among its parts [Y] ."},
      {"MadeOf",
       {"%s"},
       {"[X] is made of [Y] .", "[X] is made from [Y] .", "[X] consists of [Y] ."},
       "[X] is fashioned from [Y] ."},
      {"MemberOf",
       {"#m"},
       {"[X] is a member of [Y] .", "[X] belongs to [Y] .", "[Y] has [X] as a member ."},
       "[X] is one of the members of [Y] ."},
      {"Antonym",
       {"!"},
       {"the opposite of [X] is [Y] .", "[X] is the opposite of [Y] .",
        "[X] is the antonym of [Y] ."},
       "[X] is the contrary of [Y] ."},
  };
  return specs;
}

std::string object_word(const WordNetSynset& s, const text::WordPieceTokenizer& tok, bool& single) {
  for (const auto& w : s.words) {
    std::string l = ascii_lower(w);
    if (tok.encode(l).size() == 1) {
      single = true;
      return l;
    }
  }
  single = false;
  return ascii_lower(s.words.front());
}

FactList wordnet_facts(const WordNetDb& db, const text::WordPieceTokenizer& tok,
                       size_t max_subject_words) {
  FactList out;
  const auto& specs = relation_specs();
  std::set<std::tuple<int, std::string, std::string>> seen;
  for (const auto& s : db.synsets()) {
    for (const auto& p : s.pointers) {
      for (size_t r = 0; r < specs.size(); ++r) {
        if (std::find(specs[r].symbols.begin(), specs[r].symbols.end(), p.symbol) ==
            specs[r].symbols.end())
          continue;
        const WordNetSynset* t = db.find(p.pos, p.offset);
        if (!t || t->words.empty()) continue;
        std::vector<std::string> subjects;
        std::string object;
        bool single = false;
        if (p.source_word > 0) {  // lexical pointer (antonyms): word to word
          if (p.source_word > static_cast<int>(s.words.size()) ||
              p.target_word > static_cast<int>(t->words.size()))
            continue;
          subjects.push_back(ascii_lower(s.words[p.source_word - 1]));
          object = ascii_lower(t->words[p.target_word - 1]);
          single = tok.encode(object).size() == 1;
        } else {
          for (size_t k = 0; k < s.words.size() && k < max_subject_words; ++k)
            subjects.push_back(ascii_lower(s.words[k]));
          object = object_word(*t, tok, single);
        }
        for (const auto& x : subjects) {
          if (x == object || !seen.emplace(static_cast<int>(r), x, object).second) continue;
          out.facts.push_back({static_cast<int>(r), x, object, &s});
          out.object_single_token.push_back(single);
        }
      }
    }
  }
  return out;
}

std::string fill_template(const std::string& tmpl, const std::string& x, const std::string& y) {
  std::string s = tmpl;
  auto put = [&](const std::string& slot, const std::string& v) {
    auto p = s.find(slot);
    if (p != std::string::npos) s.replace(p, slot.size(), v);
  };
  put("[X]", x);
  put("[Y]", y);
  return s;
}

}  // namespace kd::prep
