#include "text/sentence_splitter.h"
#include "common/strings.h"

#include <algorithm>
#include <cctype>

namespace kd::text {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_closer(char c) {
  return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}';
}
bool starts_sentence(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (std::isupper(c) || std::isdigit(c) || c == '"' || c == '\'' || c == '(' || c == '[')
    return true;
  // Non-ASCII: treat a UTF-8 lead byte of a curly opening quote (U+201C/U+2018) as a start.
  return c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
         (static_cast<unsigned char>(s[i + 2]) == 0x9C ||
          static_cast<unsigned char>(s[i + 2]) == 0x98);
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

SentenceSplitter::SentenceSplitter() {
  abbreviations_ = {"mr",   "mrs",  "ms",   "dr",  "prof", "sr",  "jr",     "st",   "mt",
                    "vs",   "etc",  "e.g",  "i.e", "cf",   "al",  "approx", "ca",   "no",
                    "vol",  "fig",  "figs", "p",   "pp",   "ed",  "eds",    "inc",  "ltd",
                    "co",   "corp", "dept", "gen", "gov",  "col", "lt",     "capt", "sgt",
                    "rev",  "hon",  "jan",  "feb", "mar",  "apr", "jun",    "jul",  "aug",
                    "sep",  "sept", "oct",  "nov", "dec",  "u.s", "u.k",    "a.m",  "p.m",
                    "ph.d", "b.c",  "a.d",  "esp", "incl", "viz", "op",     "cit",  "ibid",
                    "l",    "lat",  "gr",   "fr",  "obs",  "r",   "zool",   "bot",  "anat"};
  std::sort(abbreviations_.begin(), abbreviations_.end());
}

bool SentenceSplitter::is_abbreviation(std::string_view word) const {
  std::string w = ascii_lower(word);
  while (!w.empty() && (w.front() == '(' || w.front() == '"' || w.front() == '\''))
    w.erase(w.begin());
  if (w.size() == 1 && std::isalpha(static_cast<unsigned char>(w[0]))) return true;  // initial
  return std::binary_search(abbreviations_.begin(), abbreviations_.end(), w);
}

std::vector<std::string_view> SentenceSplitter::split(std::string_view text) const {
  std::vector<std::string_view> out;
  size_t begin = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    char c = text[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t end = i + 1;
    while (end < n && (text[end] == '.' || text[end] == '!' || text[end] == '?')) ++end;
    while (end < n && is_closer(text[end])) ++end;
    if (end >= n || !is_space(text[end])) {
      i = end - 1;
      continue;
    }
    size_t next = end;
    while (next < n && is_space(text[next])) ++next;
    if (next >= n || !starts_sentence(text, next)) {
      i = end - 1;
      continue;
    }
    if (c == '.' && end == i + 1) {
      // The word before the dot: an abbreviation or initial does not end the sentence.
      size_t w = i;
      while (w > begin && !is_space(text[w - 1])) --w;
      if (is_abbreviation(text.substr(w, i - w))) continue;
    }
    auto s = trim_blanks(text.substr(begin, end - begin));
    if (!s.empty()) out.push_back(s);
    begin = next;
    i = next - 1;
  }
  auto s = trim_blanks(text.substr(begin));
  if (!s.empty()) out.push_back(s);
  return out;
}

}  // namespace kd::text
