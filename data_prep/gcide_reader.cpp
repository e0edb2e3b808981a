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

// The text of a leading "(Law)" group (at most 40 characters), or "".
std::string leading_group(const std::string& s, size_t at = 0) {
  if (s.size() < at + 3 || s[at] != '(') return "";
  auto e = s.find(')', at);
  if (e == std::string::npos || e - at > 40) return "";
  return s.substr(at + 1, e - at - 1);
}

// Drops a leading "(Zool.)" / "(Anat. & Physiol.)" field label; the first label's raw text goes
// to *field (also an undotted "(Law)", which stays in the text).
std::string drop_labels(std::string s, std::string* field = nullptr) {
  while (s.size() > 2 && s[0] == '(') {
    auto e = s.find(')');
    if (e == std::string::npos || e > 40 || s[e - 1] != '.') break;
    if (field && field->empty()) *field = s.substr(1, e - 1);
    s = collapse(s.substr(e + 1));
  }
  if (field && field->empty()) *field = leading_group(s);
  return s;
}

// A field label closing a header line: "Abalone \Ab`a*lo"ne\ (...), n. (Zool.)".
std::string trailing_label(const std::string& l) {
  size_t end = l.find_last_not_of(' ');
  if (end == std::string::npos || l[end] != ')') return "";
  size_t open = l.rfind('(', end);
  if (open == std::string::npos || open == 0 || l[open - 1] != ' ' || end - open > 40) return "";
  return normalize_gcide_field(l.substr(open + 1, end - open - 1));
}

std::string clean_markup(const std::string& s) {
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
  return out;
}

// Markup removal, then the leading labels (their first one's raw text to *field).
std::string clean_paragraph(const std::string& s, std::string* field) {
  return drop_labels(collapse(clean_markup(s)), field);
}

}  // namespace

std::string clean_gcide_text(const std::string& s) {
  return clean_paragraph(s, nullptr);
}

std::string normalize_gcide_field(const std::string& raw) {
  std::string t = collapse(clean_markup(raw));
  for (const char* sep : {" & ", ", ", "; ", " and ", " or "}) {  // the first of several fields
    auto k = t.find(sep);
    if (k != std::string::npos) t.erase(k);
  }
  static const std::pair<const char*, const char*> kLetters[] = {{"\xC3\xB6", "o"},
                                                                 {"\xC3\xAB", "e"},
                                                                 {"\xC3\xA4", "a"},
                                                                 {"\xC3\xBC", "u"},
                                                                 {"\xC3\xA9", "e"}};
  for (const auto& [from, to] : kLetters)  // UTF-8 "Zoöl." = "Zool."
    for (auto k = t.find(from); k != std::string::npos; k = t.find(from, k)) t.replace(k, 2, to);
  while (!t.empty() && (t.back() == ',' || t.back() == ' ')) t.pop_back();
  if (t.empty() || t.size() > 30 || !std::isupper(static_cast<unsigned char>(t[0]))) return "";
  for (char c : t)
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != ' ' && c != '.') return "";
  static const std::pair<const char*, const char*> kAliases[] = {
      {"Zool", "Zool."},        {"Zoology", "Zool."},     {"Bot", "Bot."},
      {"Botany", "Bot."},       {"Chem", "Chem."},        {"Chemistry", "Chem."},
      {"Med", "Med."},          {"Medicine", "Med."},     {"Anat", "Anat."},
      {"Anatomy", "Anat."},     {"Music", "Mus."},        {"Architecture", "Arch."},
      {"Math", "Math."},        {"Mathematics", "Math."}, {"Geology", "Geol."},
      {"Astronomy", "Astron."}, {"Biology", "Biol."},     {"Physiology", "Physiol."},
      {"Electricity", "Elec."}, {"Grammar", "Gram."},     {"Geometry", "Geom."},
      {"Mineralogy", "Min."},   {"Nautical", "Naut."},    {"Heraldry", "Her."},
      {"Surgery", "Surg."},     {"Printing", "Print."},   {"Mechanics", "Mech."},
      {"Military", "Mil."}};
  for (const auto& [name, abbreviation] : kAliases)
    if (t == name) return abbreviation;
  return t;
}

std::string gcide_text_without_field(const std::string& definition) {
  std::string s = definition;
  for (size_t at : {size_t{0}, s.find(": ") == std::string::npos ? s.size() : s.find(": ") + 2}) {
    std::string group = leading_group(s, at);
    if (group.empty() || normalize_gcide_field(group).empty()) continue;
    size_t end = at + group.size() + 2;
    while (end < s.size() && (s[end] == ' ' || s[end] == ',')) ++end;
    s.erase(at, end - at);
    break;
  }
  return s;
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
  std::string para, headword, header_field, line;
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
    std::vector<std::string> defs, fields;
    for (const auto& p0 : paragraphs) {
      std::string p = p0;
      size_t k = 0;
      while (k < p.size() && std::isdigit(static_cast<unsigned char>(p[k]))) ++k;
      if (k > 0 && k < p.size() && p[k] == '.') p = p.substr(k + 1);  // "2. (Zool.) ..."
      if (p.rfind("Syn:", 0) == 0 || p.rfind("Syn.", 0) == 0) continue;
      if (p.rfind("Note:", 0) == 0) p = p.substr(5);
      std::string phrase, field;
      if (!p.empty() && p[0] == '{') {  // "{Abdominal ring} (Anat.), definition"
        auto e = p.find('}');
        if (e != std::string::npos) {
          phrase = clean_gcide_text(p.substr(0, e + 1));
          p = p.substr(e + 1);
          p = drop_labels(collapse(p), &field);
          while (!p.empty() && (p[0] == ',' || p[0] == ' ')) p.erase(p.begin());
        }
      }
      std::string c = clean_paragraph(p, &field);
      if (std::count(c.begin(), c.end(), ' ') < 2) {  // header leftovers like "{Abdominales}."
        ++st.skipped;
        continue;
      }
      defs.push_back(phrase.empty() ? c : phrase + ": " + c);
      field = normalize_gcide_field(field);
      fields.push_back(field.empty() ? header_field : field);
    }
    paragraphs.clear();
    if (defs.empty()) return;
    if (cur.headword != headword) {
      if (!cur.definitions.empty()) {
        on_entry(cur);
        ++st.entries;
      }
      cur = GcideEntry{headword, {}, {}};
    }
    st.definitions += defs.size();
    for (size_t i = 0; i < defs.size(); ++i) {
      cur.definitions.push_back(std::move(defs[i]));
      cur.fields.push_back(std::move(fields[i]));
    }
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
      header_field.clear();
      bracket_depth = 0;
      in_header = true;
    }
    if (in_header) {
      // Skip header text until its brackets close. A field label ending the header ("n. [NL.]
      // (Zool.)") is kept for this entry's definitions that have none of their own.
      for (char c : l) {
        if (c == '[') ++bracket_depth;
        if (c == ']') bracket_depth = std::max(0, bracket_depth - 1);
      }
      if (bracket_depth == 0) {
        in_header = false;
        header_field = trailing_label(l);
      }
      return;
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
