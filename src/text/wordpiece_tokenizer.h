// BERT WordPiece tokenizer giving Hugging Face's BertTokenizerFast output (tokenizers'
// BertNormalizer + BertPreTokenizer + WordPiece model, bert-base-uncased tokenizer.json):
//   1. the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] are matched in the raw text (exact,
//      case-sensitive, like HF added tokens with normalized=false) and never split;
//   2. the rest goes through BasicTokenizer (clean, CJK, accents/lower-case, punctuation);
//   3. each word: more than 100 code points -> [UNK]; else greedy longest-match-first over the
//      vocabulary, continuation pieces prefixed "##"; a word with an unmatched piece -> [UNK].
// Thread-safe: encode()/tokenize() are const and use thread-local scratch buffers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/basic_tokenizer.h"
#include "text/vocab_index.h"

namespace kd::text {

class WordPieceTokenizer {
 public:
  // Reads a vocab.txt (one token per line, id = line number). Throws kd::Error naming the file
  // when it is unreadable, empty or lacks a special token.
  static WordPieceTokenizer from_vocab_file(const std::string& path, bool lower_case = true);
  // From tokens in id order (tests).
  static WordPieceTokenizer from_tokens(std::vector<std::string> tokens, bool lower_case = true,
                                        const std::string& origin = "<memory>");

  // Token ids without [CLS]/[SEP].
  std::vector<int32_t> encode(std::string_view text) const;
  // Appends the ids of `text` to `out` (no allocation once `out` has grown).
  void encode_append(std::string_view text, std::vector<int32_t>& out) const;
  // Token strings of encode().
  std::vector<std::string> tokenize(std::string_view text) const;
  // Whether the token is a "##" continuation piece (whole-word masking groups these).
  bool is_continuation(int32_t id) const { return is_continuation_[id] != 0; }
  // HF WordPiece decoder: " ##" joins, then clean-up of spaces before punctuation/contractions.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  int32_t token_id(std::string_view token) const;  // -1 if absent
  const std::string& token(int32_t id) const;      // throws if out of range
  size_t vocab_size() const { return tokens_.size(); }
  bool lower_case() const { return basic_.lower_case(); }
  bool is_special(int32_t id) const {
    return id == cls_id || id == sep_id || id == mask_id || id == pad_id || id == unk_id;
  }

  int32_t cls_id = -1, sep_id = -1, mask_id = -1, pad_id = -1, unk_id = -1;
  static constexpr uint32_t kMaxInputCharsPerWord = 100;

 private:
  WordPieceTokenizer() = default;
  void init(const std::string& origin);
  // Appends the pieces of one normalized word; returns the number of ids appended.
  size_t wordpiece(std::string_view word, uint32_t chars, std::vector<int32_t>& out) const;
  // Normalizes one segment without special tokens and appends its pieces.
  void encode_segment(std::string_view segment, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  VocabIndex head_;          // tokens that start a word
  VocabIndex continuation_;  // "##x" stored as "x"
  std::vector<uint8_t> is_continuation_;
  std::vector<std::pair<std::string, int32_t>> specials_;
  BasicTokenizer basic_;
};

}  // namespace kd::text
