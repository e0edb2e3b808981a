#include "text/basic_tokenizer.h"

#include <utf8proc.h>

#include <array>

namespace kd::text {
namespace {

enum AsciiClass : uint8_t { kDrop, kSpace, kPunct, kWord };

struct AsciiTables {
  std::array<uint8_t, 128> cls{};
  std::array<char, 128> lower{};
  AsciiTables() {
    for (int c = 0; c < 128; ++c) {
      lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      if (c == '\t' || c == '\n' || c == '\r' || c == ' ')
        cls[c] = kSpace;
      else if (c < 32 || c == 127)
        cls[c] = kDrop;  // Cc (includes NUL, \v, \f): removed by clean_text
      else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126))
        cls[c] = kPunct;  // BERT counts all ASCII symbols ($ + < = > ^ ` | ~) as punctuation
      else
        cls[c] = kWord;
    }
  }
};
const AsciiTables kAscii;

bool is_punct_category(utf8proc_category_t c) {
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

// Appends normalized words while tracking the open word.
struct Emitter {
  std::string& buf;
  std::vector<WordSpan>& words;
  size_t begin;
  uint32_t chars = 0;

  void end_word() {
    if (buf.size() > begin)
      words.push_back(
          {static_cast<uint32_t>(begin), static_cast<uint32_t>(buf.size() - begin), chars});
    begin = buf.size();
    chars = 0;
  }
  void isolated(int32_t cp) {
    end_word();
    append_utf8(buf, cp);
    chars = 1;
    end_word();
  }
  void letter(int32_t cp) {
    append_utf8(buf, cp);
    ++chars;
  }
  // A normalized (already cleaned) code point goes to the pre-tokenizer.
  void pretokenize(int32_t cp) {
    if (cp < 128) {
      switch (kAscii.cls[cp]) {
        case kWord:
          buf.push_back(static_cast<char>(cp));
          ++chars;
          return;
        case kPunct:
          isolated(cp);
          return;
        case kSpace:
          end_word();
          return;
        default:
          return;
      }
    }
    utf8proc_category_t cat = utf8proc_category(cp);
    if (cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP)
      end_word();
    else if (is_punct_category(cat))
      isolated(cp);
    else
      letter(cp);
  }
};

}  // namespace

bool BasicTokenizer::is_cjk(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool BasicTokenizer::is_punctuation(int32_t cp) {
  if (cp < 128) return kAscii.cls[cp] == kPunct;
  return is_punct_category(utf8proc_category(cp));
}

bool BasicTokenizer::is_whitespace(int32_t cp) {
  if (cp < 128) return kAscii.cls[cp] == kSpace;
  utf8proc_category_t cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool BasicTokenizer::is_control(int32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  utf8proc_category_t cat = utf8proc_category(cp);
  // Cc Cf Cs Co. HF's is_control() ("c.is_other()") leaves unassigned code points (Cn) in the
  // text; measured against tokenizers 0.23 over all code points.
  return cat >= UTF8PROC_CATEGORY_CC;
}

int decode_utf8(std::string_view s, size_t i, int32_t& cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  size_t left = s.size() - i;
  unsigned char b0 = p[0];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  int len;
  int32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (left < static_cast<size_t>(len)) return 0;
  for (int k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_utf8(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    char b[2] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 2);
  } else if (cp < 0x10000) {
    char b[3] = {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                 static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 3);
  } else {
    char b[4] = {
        static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
        static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 4);
  }
}

void BasicTokenizer::split(std::string_view text, std::string& buf,
                           std::vector<WordSpan>& words) const {
  Emitter e{buf, words, buf.size()};
  const auto& cls = kAscii.cls;
  const auto& lower = kAscii.lower;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      // ASCII fast path: a run of word characters is copied (and lower-cased) in one loop.
      switch (cls[b]) {
        case kWord: {
          size_t j = i;
          if (lower_case_) {
            do {
              buf.push_back(lower[b]);
              b = static_cast<unsigned char>(++j < n ? text[j] : 0);
            } while (b < 0x80 && cls[b] == kWord);
          } else {
            do {
              buf.push_back(static_cast<char>(b));
              b = static_cast<unsigned char>(++j < n ? text[j] : 0);
            } while (b < 0x80 && cls[b] == kWord);
          }
          e.chars += static_cast<uint32_t>(j - i);
          i = j;
          continue;
        }
        case kSpace:
          e.end_word();
          break;
        case kPunct:
          e.isolated(b);
          break;
        default:
          break;  // control: dropped
      }
      ++i;
      continue;
    }
    int32_t cp;
    int len = decode_utf8(text, i, cp);
    if (len == 0) {  // invalid byte: behaves like U+FFFD, which clean_text removes
      ++i;
      continue;
    }
    i += len;
    if (cp == 0xFFFD || is_control(cp)) continue;
    if (is_cjk(cp)) {
      // HF surrounds CJK ideographs with spaces before accent stripping; compatibility
      // ideographs (F900..FAFF) still decompose to a unified one under NFD.
      e.end_word();
      if (lower_case_) {
        utf8proc_int32_t d[8];
        int bound = 0;
        auto nd = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &bound);
        for (int k = 0; k < nd; ++k)
          if (utf8proc_category(d[k]) != UTF8PROC_CATEGORY_MN) e.letter(utf8proc_tolower(d[k]));
      } else {
        e.letter(cp);
      }
      e.end_word();
      continue;
    }
    if (!lower_case_) {
      e.pretokenize(cp);
      continue;
    }
    // Uncased: NFD, drop Mn, lower-case; the pre-tokenizer then sees the normalized characters
    // (e.g. U+1FEF decomposes to '`', which is punctuation).
    utf8proc_int32_t d[8];
    int bound = 0;
    auto nd = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &bound);
    if (nd <= 0) continue;
    for (int k = 0; k < nd; ++k) {
      if (utf8proc_category(d[k]) == UTF8PROC_CATEGORY_MN) continue;
      e.pretokenize(utf8proc_tolower(d[k]));
    }
  }
  e.end_word();
}

std::vector<std::string> BasicTokenizer::words(std::string_view text) const {
  std::string buf;
  std::vector<WordSpan> spans;
  split(text, buf, spans);
  std::vector<std::string> out;
  out.reserve(spans.size());
  for (const auto& w : spans) out.emplace_back(buf, w.begin, w.size);
  return out;
}

}  // namespace kd::text
