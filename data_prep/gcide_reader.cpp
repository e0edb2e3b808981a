#include "gcide_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "common/check.h"

namespace kd::prep {
namespace {

bool accent_code(const std::string& in) {  // ["o] ['e] [=a] [ae] [oe] [,c] [~n]
  if (in.empty() || in.size() > 3) return false;
  size_t k = std::string("\"'`^~=.,").find(in[0]) != std::string::npos ? 1 : 0;
  if (in.size() - k < 1 || in.size() - k > 2) return false;
  for (size_t i = k; i < in.size(); ++i)
    if (!std::isalpha(static_cast<unsigned char>(in[i]))) return false;
  return true;
}

std::string collapse(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Drops a leading "(Zool.)" / "(Anat. & Physiol.)" field label.
std::string drop_labels(std::string s) {
  while (s.size() > 2 && s[0] == '(') {
    auto e = s.find(')');
    if (e == std::string::npos || e > 40 || s[e - 1] != '.') break;
    s = collapse(s.substr(e + 1));
  }
  return s;
}

}  // namespace

std::string clean_gcide_text(const std::string& s) {
  std::string out;
  size_t i = 0;
  int brace = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '[') {
      auto e = s.find(']', i);
      if (e == std::string::npos) break;
      std::string in = s.substr(i + 1, e - i - 1);
      if (accent_code(in)) {
        for (char ch : in)
          if (std::isalpha(static_cast<unsigned char>(ch))) out.push_back(ch);
      }
      i = e + 1;  // other brackets: source tags, usage labels, etymology
      continue;
    }
    if (c == '{') {
      ++brace;
      ++i;
      continue;
    }
    if (c == '}') {
      brace = std::max(0, brace - 1);
      ++i;
      continue;
    }
    if (brace > 0 && (c == '*' || c == '"' || c == '`')) {
      ++i;
      continue;
    }
    if (c == '-' && i + 2 < s.size() && s[i + 1] == '-' &&
        !std::isspace(static_cast<unsigned char>(s[i + 2]))) {
      break;  // "--Bacon." citation: the rest of the paragraph is the source
    }
    if (c == '?' && (i == 0 || s[i - 1] == ' ') &&
        (i + 1 == s.size() || s[i + 1] == ' ' || s[i + 1] == ',')) {
      ++i;  // "?" stands for a Greek/Hebrew word the conversion lost
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return drop_labels(collapse(out));
}

GcideStats read_gcide(const std::string& path,
                      const std::function<void(const GcideEntry&)>& on_entry) {
  gzFile f = gzopen(path.c_str(), "rb");
  KD_CHECK_HINT(f != nullptr, "install Debian's dict-gcide (scripts/install-deps.sh)",
                "cannot open GCIDE dictionary '{}'", path);
  gzbuffer(f, 1 << 18);
  GcideStats st;
  GcideEntry cur;
  std::vector<std::string> paragraphs;
  std::string para, headword, line;
  bool para_quote = false;
  char buf[1 << 16];

  auto flush_para = [&] {
    if (!para.empty() && !para_quote) paragraphs.push_back(para);
    para.clear();
    para_quote = false;
  };
  auto flush_entry = [&] {
    flush_para();
    if (headword.empty() || headword.rfind("00-", 0) == 0) {
      paragraphs.clear();
      return;
    }
    std::vector<std::string> defs;
    for (const auto& p0 : paragraphs) {
      std::string p = p0;
      size_t k = 0;
      while (k < p.size() && std::isdigit(static_cast<unsigned char>(p[k]))) ++k;
      if (k > 0 && k < p.size() && p[k] == '.') p = p.substr(k + 1);  // "2. (Zool.) ..."
      if (p.rfind("Syn:", 0) == 0 || p.rfind("Syn.", 0) == 0) continue;
      if (p.rfind("Note:", 0) == 0) p = p.substr(5);
      std::string phrase;
      if (!p.empty() && p[0] == '{') {  // "{Abdominal ring} (Anat.), definition"
        auto e = p.find('}');
        if (e != std::string::npos) {
          phrase = clean_gcide_text(p.substr(0, e + 1));
          p = p.substr(e + 1);
          p = drop_labels(collapse(p));
          while (!p.empty() && (p[0] == ',' || p[0] == ' ')) p.erase(p.begin());
        }
      }
      std::string c = clean_gcide_text(p);
      if (std::count(c.begin(), c.end(), ' ') < 2) {  // header leftovers like "{Abdominales}."
        ++st.skipped;
        continue;
      }
      defs.push_back(phrase.empty() ? c : phrase + ": " + c);
    }
    paragraphs.clear();
    if (defs.empty()) return;
    if (cur.headword != headword) {
      if (!cur.definitions.empty()) {
        on_entry(cur);
        ++st.entries;
      }
      cur = GcideEntry{headword, {}};
    }
    st.definitions += defs.size();
    for (auto& d : defs) cur.definitions.push_back(std::move(d));
  };

  int bracket_depth = 0;  // > 0 while the header's [etymology] continues
  bool in_header = false;
  auto on_line = [&](const std::string& l) {
    if (l.empty() || l.find_first_not_of(' ') == std::string::npos) {
      flush_para();
      return;
    }
    if (l[0] == '[') return;  // a source tag such as "[1913 Webster]" at column 0
    if (l[0] != ' ') {        // a new entry: "Headword \Pro*nun"ci*a`tion\, n. [etym]"
      flush_entry();
      auto bs = l.find(" \\");
      headword = l.substr(0, bs == std::string::npos ? l.find(',') : bs);
      if (headword.size() > 60) headword.clear();
      bracket_depth = 0;
      in_header = true;
    }
    if (in_header) {
      // Skip header text until its brackets close, keep anything after a closed header line.
      std::string rest;
      bool after = false;
      for (char c : l) {
        if (c == '[') ++bracket_depth;
        if (c == ']') {
          bracket_depth = std::max(0, bracket_depth - 1);
          if (bracket_depth == 0) after = true;
          continue;
        }
        if (after && bracket_depth == 0) rest.push_back(c);
      }
      if (bracket_depth == 0) in_header = false;
      return;  // labels such as "(Bot.)" after the etymology are dropped with the header
    }
    size_t indent = l.find_first_not_of(' ');
    if (para.empty()) para_quote = indent >= 8;  // indented quotation blocks
    para += (para.empty() ? "" : " ") + l.substr(indent);
  };

  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        on_line(line);
        line.clear();
      } else {
        line.push_back(buf[i]);
      }
    }
  }
  if (!line.empty()) on_line(line);
  flush_entry();
  if (!cur.definitions.empty()) {
    on_entry(cur);
    ++st.entries;
  }
  gzclose(f);
  return st;
}

}  // namespace kd::prep
