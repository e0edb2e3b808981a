// Reader for WordNet's data.{noun,verb,adj,adv} files (Debian wordnet-base, /usr/share/wordnet):
//   offset lex_filenum ss_type w_cnt(hex) {word lex_id(hex)} p_cnt {sym offset pos src_tgt(hex)}
//   [frames] | gloss
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace kd::prep {

struct WordNetPointer {
  std::string symbol;  // "@", "#p", "%s", "!", ...
  char pos = 'n';      // target's part of speech (s folded into a)
  uint32_t offset = 0;
  int source_word = 0;  // 1-based; 0 = whole synset (semantic pointer)
  int target_word = 0;
};

struct WordNetSynset {
  char pos = 'n';
  uint32_t offset = 0;
  bool satellite = false;          // an adjective satellite (ss_type s), pointing to its head by &
  int lex_file = 0;                // lex_filenum: index into wordnet_lexnames() (noun.animal ...)
  std::vector<std::string> words;  // spaces for underscores, adjective markers removed
  std::vector<WordNetPointer> pointers;
  std::string definition;
  std::vector<std::string> examples;
};

class WordNetDb {
 public:
  // Reads data.noun/verb/adj/adv under dir; throws kd::Error if none can be read.
  explicit WordNetDb(const std::string& dir = "/usr/share/wordnet");
  const std::vector<WordNetSynset>& synsets() const { return synsets_; }
  const WordNetSynset* find(char pos, uint32_t offset) const;

 private:
  std::vector<WordNetSynset> synsets_;
  std::unordered_map<uint64_t, size_t> index_;
};

// The lexicographer file names by lex_filenum ("adj.all", "adj.pert", "adv.all", "noun.Tops", ...):
// dir/lexnames when present (its "NN name pos" lines), else WordNet 3.0's 45 names (lexnames(5WN)).
std::vector<std::string> wordnet_lexnames(const std::string& dir = "/usr/share/wordnet");

}  // namespace kd::prep
