#include "text/wikitext_cleaner.h"
#include "common/strings.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace kd::text {
namespace {

char lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool istarts_with(std::string_view s, size_t pos, std::string_view prefix) {
  if (s.size() - std::min(pos, s.size()) < prefix.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k)
    if (lower_ascii(s[pos + k]) != lower_ascii(prefix[k])) return false;
  return true;
}

template <typename Set>
bool contains_in(const Set& set, std::string_view x) {
  return std::find(set.begin(), set.end(), x) != set.end();
}
bool contains(std::initializer_list<std::string_view> set, std::string_view x) {
  return contains_in(set, x);
}

// <!-- ... --> (an unclosed comment runs to the end, as MediaWiki renders it).
std::string remove_comments(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  for (;;) {
    size_t b = s.find("<!--", i);
    out.append(s.substr(i, b == std::string_view::npos ? std::string_view::npos : b - i));
    if (b == std::string_view::npos) break;
    size_t e = s.find("-->", b + 4);
    if (e == std::string_view::npos) break;
    i = e + 3;
  }
  return out;
}

// Tag name at s[i] == '<' ("ref", "/ref", "br"); empty when '<' does not open a tag.
std::string tag_name(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '/') ++j;
  size_t k = j;
  while (k < s.size() && std::isalnum(static_cast<unsigned char>(s[k]))) ++k;
  if (k == j || !std::isalpha(static_cast<unsigned char>(s[j]))) return {};
  return ascii_lower(s.substr(i + 1, k - i - 1));
}

// Elements whose content is not prose: dropped with the tags.
constexpr std::array<std::string_view, 20> kDropElements = {
    "ref",          "references", "math", "gallery", "timeline",     "syntaxhighlight",
    "source",       "score",      "chem", "ce",      "hiero",        "graph",
    "imagemap",     "mapframe",   "pre",  "code",    "templatedata", "inputbox",
    "categorytree", "poem"};

std::string remove_non_prose_elements(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '<') {
      out += s[i++];
      continue;
    }
    std::string name = tag_name(s, i);
    if (name.empty() || name[0] == '/' || !contains_in(kDropElements, name)) {
      out += s[i++];
      continue;
    }
    size_t gt = s.find('>', i);
    if (gt == std::string_view::npos) {
      out.append(s.substr(i));
      break;
    }
    if (s[gt - 1] == '/') {  // <ref name="x" />
      i = gt + 1;
      continue;
    }
    // Find the matching </name>.
    size_t j = gt + 1, close = std::string_view::npos;
    while ((j = s.find("</", j)) != std::string_view::npos) {
      if (istarts_with(s, j + 2, name) &&
          (j + 2 + name.size() >= s.size() ||
           !std::isalnum(static_cast<unsigned char>(s[j + 2 + name.size()])))) {
        close = j;
        break;
      }
      j += 2;
    }
    if (close == std::string_view::npos) {  // unclosed: drop the opening tag only
      i = gt + 1;
      continue;
    }
    size_t end = s.find('>', close);
    i = end == std::string_view::npos ? s.size() : end + 1;
  }
  return out;
}

// Templates {{…}} (nested, including parser functions and {{{parameters}}}) and tables
// {| … |} (which open and close at the start of a line).
std::string remove_templates_and_tables(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::vector<char> stack;
  bool line_start = true;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    bool two = i + 1 < s.size();
    if (two && c == '{' && s[i + 1] == '{') {
      stack.push_back('T');
      i += 2;
      line_start = false;
      continue;
    }
    if (two && line_start && c == '{' && s[i + 1] == '|') {
      stack.push_back('B');
      i += 2;
      line_start = false;
      continue;
    }
    if (two && c == '}' && s[i + 1] == '}' && (stack.empty() || stack.back() == 'T')) {
      if (!stack.empty()) stack.pop_back();  // a stray "}}" is dropped too
      i += 2;
      line_start = false;
      continue;
    }
    if (two && line_start && c == '|' && s[i + 1] == '}' && !stack.empty() && stack.back() == 'B') {
      stack.pop_back();
      i += 2;
      line_start = false;
      continue;
    }
    if (c == '\n') {
      line_start = true;
    } else if (c != ' ' && c != '\t') {
      line_start = false;
    }
    if (stack.empty() || c == '\n') out += c;  // keep line structure for the line pass
    ++i;
  }
  return out;
}

bool is_language_code(std::string_view p) {
  if (p == "simple") return true;
  size_t n = 0;
  while (n < p.size() && p[n] >= 'a' && p[n] <= 'z') ++n;
  if (n < 2 || n > 3) return false;
  for (size_t k = n; k < p.size(); ++k)
    if (!((p[k] >= 'a' && p[k] <= 'z') || p[k] == '-')) return false;
  return n == p.size() || p[n] == '-';
}

std::string render_links(std::string_view s);

// The visible text of an internal link's inside ("target|label").
std::string render_link(std::string_view inner) {
  size_t bar = inner.find('|');
  std::string_view target = trim_space(inner.substr(0, bar));
  bool leading_colon = !target.empty() && target[0] == ':';
  if (leading_colon) target = trim_space(target.substr(1));
  size_t colon = target.find(':');
  std::string prefix =
      colon == std::string_view::npos ? "" : ascii_lower(trim_space(target.substr(0, colon)));
  if (!leading_colon && contains({"file", "image", "category", "media"}, prefix)) return {};
  if (!leading_colon && bar == std::string_view::npos && is_language_code(prefix)) return {};
  if (bar != std::string_view::npos) {
    std::string_view label = inner.substr(bar + 1);
    if (!trim_space(label).empty()) return render_links(label);
    // Pipe trick: [[Paris, Texas|]] -> "Paris", [[Help:Contents|]] -> "Contents".
    std::string_view t =
        colon == std::string_view::npos ? target : trim_space(target.substr(colon + 1));
    size_t cut = std::min(t.find(" ("), t.find(','));
    return std::string(trim_space(t.substr(0, cut)));
  }
  if (contains({"wikt", "wiktionary", "w", "wikipedia", "commons", "wikisource", "s", "q", "b"},
               prefix))
    target = trim_space(target.substr(colon + 1));
  if (!target.empty() && target[0] == '#') target.remove_prefix(1);
  return std::string(target);
}

bool starts_url(std::string_view s, size_t i) {
  for (std::string_view scheme : {"http://", "https://", "ftp://", "//", "mailto:", "news:"})
    if (istarts_with(s, i, scheme)) return true;
  return false;
}

// [[internal links]] (nested, as in file captions) and [external links].
std::string render_links(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '[' && i + 1 < s.size() && s[i + 1] == '[') {
      int depth = 0;
      size_t j = i, close = std::string_view::npos;
      while (j + 1 < s.size()) {
        if (s[j] == '[' && s[j + 1] == '[') {
          ++depth;
          j += 2;
        } else if (s[j] == ']' && s[j + 1] == ']') {
          if (--depth == 0) {
            close = j;
            break;
          }
          j += 2;
        } else {
          ++j;
        }
      }
      if (close == std::string_view::npos) {  // unbalanced: drop the brackets
        i += 2;
        continue;
      }
      out += render_link(s.substr(i + 2, close - i - 2));
      i = close + 2;
    } else if (s[i] == '[' && starts_url(s, i + 1)) {
      size_t close = s.find_first_of("]\n", i);
      if (close == std::string_view::npos || s[close] != ']') {
        out += s[i++];
        continue;
      }
      std::string_view inside = s.substr(i + 1, close - i - 1);
      size_t sp = inside.find(' ');
      if (sp != std::string_view::npos) out += trim_space(inside.substr(sp + 1));
      i = close + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// Any remaining HTML tags: removed, their content kept; block-level ones become a space.
std::string strip_tags(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '<') {
      std::string name = tag_name(s, i);
      size_t gt = name.empty() ? std::string_view::npos : s.find_first_of("<>", i + 1);
      if (gt != std::string_view::npos && s[gt] == '>') {
        std::string_view bare = std::string_view(name).substr(name[0] == '/' ? 1 : 0);
        bool is_inline = contains({"b", "i", "u", "s", "small", "big", "sup", "sub", "span", "em",
                                   "strong", "abbr", "nowiki", "font", "var", "tt", "del", "ins"},
                                  bare);
        if (!is_inline) out += ' ';
        i = gt + 1;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// A cleaned line: whitespace collapsed, spaces before punctuation and empty brackets that
// removed templates leave behind ("born ( ) in", "word , and") tidied.
std::string tidy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\t' || c == '\r' || c == '\f' || c == '\v') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    if ((c == ',' || c == '.' || c == ';' || c == ':' || c == ')') && !out.empty() &&
        out.back() == ' ')
      out.pop_back();
    if (c == ')' && !out.empty() && out.back() == '(') {
      out.pop_back();
      while (!out.empty() && out.back() == ' ') out.pop_back();
      continue;
    }
    if (c == ',' && !out.empty() && out.back() == '(') continue;
    out += c;
  }
  return std::string(trim_space(out));
}

}  // namespace

std::vector<std::string> clean_wikitext(std::string_view wikitext) {
  std::string t = remove_comments(wikitext);
  t = remove_non_prose_elements(t);
  t = remove_templates_and_tables(t);
  t = render_links(t);
  t = strip_tags(t);
  std::vector<std::string> paragraphs;
  size_t start = 0;
  while (start <= t.size()) {
    size_t nl = t.find('\n', start);
    std::string_view line = trim_space(std::string_view(t).substr(
        start, nl == std::string::npos ? std::string::npos : nl - start));
    start = nl == std::string::npos ? t.size() + 1 : nl + 1;
    if (line.empty() || line.substr(0, 4) == "----") continue;
    if (line.size() >= 2 && line.front() == '=' && line.back() == '=') continue;  // heading
    if (line.front() == '|' || line.front() == '!') continue;                     // stray table row
    while (!line.empty() && std::strchr("*#:;", line.front())) line = trim_space(line.substr(1));
    std::string s;
    s.reserve(line.size());
    for (size_t i = 0; i < line.size();) {
      if (line[i] == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {  // bold / italic
        while (i < line.size() && line[i] == '\'') ++i;
        continue;
      }
      if (line.compare(i, 2, "__") == 0) {  // magic words: __TOC__, __NOTOC__
        size_t e = line.find("__", i + 2);
        if (e != std::string_view::npos && e > i + 2 &&
            std::all_of(line.begin() + i + 2, line.begin() + e,
                        [](char c) { return c >= 'A' && c <= 'Z'; })) {
          i = e + 2;
          continue;
        }
      }
      s += line[i++];
    }
    std::string p = tidy(decode_html_entities(s));
    bool has_word = std::any_of(p.begin(), p.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
    });
    if (has_word) paragraphs.push_back(std::move(p));
  }
  return paragraphs;
}

bool is_disambiguation(std::string_view title, std::string_view wikitext) {
  std::string lt = ascii_lower(trim_space(title));
  if (ends_with(lt, "(disambiguation)")) return true;
  for (size_t i = wikitext.find("{{"); i != std::string_view::npos;
       i = wikitext.find("{{", i + 2)) {
    size_t e = wikitext.find_first_of("|}\n", i + 2);
    if (e == std::string_view::npos) break;
    std::string name = ascii_lower(trim_space(wikitext.substr(i + 2, e - i - 2)));
    std::replace(name.begin(), name.end(), '_', ' ');
    if (contains({"disambiguation", "disambig", "dab", "disamb", "dis", "hndis", "geodis",
                  "numberdis", "schooldis", "hospitaldis", "mathdab",
                  "letter-number combination "
                  "disambiguation",
                  "place name disambiguation", "human name disambiguation"},
                 name))
      return true;
  }
  return false;
}

}  // namespace kd::text
