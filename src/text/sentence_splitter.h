// Rule-based sentence splitting for running text (lines that hold whole paragraphs).
// A sentence ends at '.', '!' or '?' (plus any closing quotes/brackets) followed by whitespace
// and then an upper-case letter, a digit or an opening quote/bracket — except after a known
// abbreviation ("Mr.", "e.g.", "approx."), a single-letter initial ("J. R. R. Tolkien") or an
// ellipsis inside a sentence. Decimals ("3.14") never split since no space follows the dot.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kd::text {

class SentenceSplitter {
 public:
  SentenceSplitter();
  // Sentences of `text`, trimmed; empty ones dropped.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  bool is_abbreviation(std::string_view word) const;
  std::vector<std::string> abbreviations_;  // lower-case, without the final '.'
};

}  // namespace kd::text
