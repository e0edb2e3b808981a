// BERT's "basic" tokenization: the BertNormalizer + BertPreTokenizer of Hugging Face tokenizers.
//   clean text: NUL, U+FFFD and control characters (Cc Cf Co Cs, except \t \n \r) dropped,
//               whitespace (\t \n \r, Z*) separates words
//   CJK ideographs: each one its own word
//   uncased: NFD, non-spacing marks (Mn) dropped, then lower-cased (strip before lower, as HF)
//   punctuation (ASCII symbol ranges + Unicode P*) split off as single-character words
// Invalid UTF-8 bytes are dropped, as if the input had been decoded with errors="replace"
// (U+FFFD is removed by the cleaning step anyway).
//
// Hot path: ASCII bytes go through a 128-entry class table; only non-ASCII code points call
// utf8proc. Words are appended into one caller-owned byte buffer (no per-word allocation).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kd::text {

// One normalized word inside the caller's buffer.
struct WordSpan {
  uint32_t begin = 0;  // byte offset in the buffer
  uint32_t size = 0;   // bytes
  uint32_t chars = 0;  // code points (HF's max_input_chars_per_word counts these)
};

class BasicTokenizer {
 public:
  explicit BasicTokenizer(bool lower_case = true) : lower_case_(lower_case) {}

  // Normalizes `text` and appends its words: bytes to `buf`, spans to `words`.
  void split(std::string_view text, std::string& buf, std::vector<WordSpan>& words) const;

  // Convenience: the normalized words as strings (tests, tools).
  std::vector<std::string> words(std::string_view text) const;

  bool lower_case() const { return lower_case_; }

  // Character classes exposed for the sentence splitter and tests.
  static bool is_punctuation(int32_t cp);
  static bool is_whitespace(int32_t cp);
  static bool is_control(int32_t cp);
  static bool is_cjk(int32_t cp);

 private:
  bool lower_case_;
};

// Decodes one UTF-8 sequence at s[i]; returns its length (1..4) and sets cp, or 0 for an
// invalid/truncated/overlong/surrogate sequence.
int decode_utf8(std::string_view s, size_t i, int32_t& cp);
// Appends the UTF-8 encoding of cp.
void append_utf8(std::string& out, int32_t cp);

}  // namespace kd::text
