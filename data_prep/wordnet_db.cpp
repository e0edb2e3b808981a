#include "wordnet_db.h"

#include <fstream>
#include <sstream>

#include "common/check.h"

namespace kd::prep {
namespace {

uint64_t key(char pos, uint32_t offset) {
  return (static_cast<uint64_t>(pos) << 32) | offset;
}
char fold(char pos) {
  return pos == 's' ? 'a' : pos;
}

std::string clean_word(std::string w) {
  auto paren = w.find('(');
  if (paren != std::string::npos && w.back() == ')') w.erase(paren);  // "(p)", "(a)", "(ip)"
  for (char& c : w)
    if (c == '_') c = ' ';
  return w;
}

void parse_gloss(const std::string& gloss, WordNetSynset& s) {
  // "definition; more definition; \"example one\"; \"example two\""
  size_t q = gloss.find('"');
  std::string def = gloss.substr(0, q);
  while (!def.empty() && (def.back() == ' ' || def.back() == ';')) def.pop_back();
  s.definition = def;
  while (q != std::string::npos) {
    size_t e = gloss.find('"', q + 1);
    if (e == std::string::npos) break;
    std::string ex = gloss.substr(q + 1, e - q - 1);
    if (!ex.empty()) s.examples.push_back(ex);
    q = gloss.find('"', e + 1);
  }
}

}  // namespace

WordNetDb::WordNetDb(const std::string& dir) {
  int files = 0;
  for (const char* name : {"noun", "verb", "adj", "adv"}) {
    std::string path = dir + "/data." + name;
    std::ifstream in(path);
    if (!in) continue;
    ++files;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == ' ') continue;  // license header
      auto bar = line.find(" | ");
      std::istringstream f(line.substr(0, bar));
      WordNetSynset s;
      std::string type, cnt;
      f >> s.offset >> s.lex_file >> type >> cnt;
      s.pos = fold(type[0]);
      s.satellite = type[0] == 's';
      int w_cnt = std::stoi(cnt, nullptr, 16);
      for (int i = 0; i < w_cnt; ++i) {
        std::string w, lex_id;
        f >> w >> lex_id;
        s.words.push_back(clean_word(w));
      }
      int p_cnt = 0;
      f >> p_cnt;
      for (int i = 0; i < p_cnt; ++i) {
        WordNetPointer p;
        std::string pos, st;
        f >> p.symbol >> p.offset >> pos >> st;
        p.pos = fold(pos[0]);
        int v = std::stoi(st, nullptr, 16);
        p.source_word = v >> 8;
        p.target_word = v & 0xFF;
        s.pointers.push_back(p);
      }
      KD_CHECK(!f.fail(), "cannot parse WordNet line in {}: {}", path, line.substr(0, 80));
      if (bar != std::string::npos) parse_gloss(line.substr(bar + 3), s);
      index_[key(s.pos, s.offset)] = synsets_.size();
      synsets_.push_back(std::move(s));
    }
  }
  KD_CHECK_HINT(files > 0, "install Debian's wordnet-base (scripts/install-deps.sh)",
                "no WordNet data files (data.noun ...) under {}", dir);
}

std::vector<std::string> wordnet_lexnames(const std::string& dir) {
  std::vector<std::string> names = {"adj.all",          "adj.pert",           "adv.all",
                                    "noun.Tops",        "noun.act",           "noun.animal",
                                    "noun.artifact",    "noun.attribute",     "noun.body",
                                    "noun.cognition",   "noun.communication", "noun.event",
                                    "noun.feeling",     "noun.food",          "noun.group",
                                    "noun.location",    "noun.motive",        "noun.object",
                                    "noun.person",      "noun.phenomenon",    "noun.plant",
                                    "noun.possession",  "noun.process",       "noun.quantity",
                                    "noun.relation",    "noun.shape",         "noun.state",
                                    "noun.substance",   "noun.time",          "verb.body",
                                    "verb.change",      "verb.cognition",     "verb.communication",
                                    "verb.competition", "verb.consumption",   "verb.contact",
                                    "verb.creation",    "verb.emotion",       "verb.motion",
                                    "verb.perception",  "verb.possession",    "verb.social",
                                    "verb.stative",     "verb.weather",       "adj.ppl"};
  std::ifstream in(dir + "/lexnames");
  if (!in) return names;
  std::vector<std::string> read;
  int num = 0, pos = 0;
  std::string name;
  while (in >> num >> name >> pos) {
    KD_CHECK(num >= 0 && num < 1000, "{}/lexnames: bad file number {}", dir, num);
    if (read.size() <= static_cast<size_t>(num)) read.resize(num + 1);
    read[num] = name;
  }
  KD_CHECK(in.eof() && !read.empty(),
           "{}/lexnames: cannot parse it (lines: file number, name, part of speech)", dir);
  return read;
}

const WordNetSynset* WordNetDb::find(char pos, uint32_t offset) const {
  auto it = index_.find(key(pos, offset));
  return it == index_.end() ? nullptr : &synsets_[it->second];
}

}  // namespace kd::prep
