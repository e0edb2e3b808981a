// Plain-text corpora for pre-training: documents separated by blank lines, sentences one per
// line or several per line (every line goes through the SentenceSplitter). Files may be gzip-
// compressed (zlib reads plain files transparently). Bad input never throws: problems are
// counted per file in a FileReport.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "text/sentence_splitter.h"

namespace kd::text {

struct RawDocument {
  std::vector<std::string> sentences;
};

struct FileReport {
  std::string path;
  uint64_t bytes = 0;
  uint64_t lines = 0;
  uint64_t documents = 0;
  uint64_t sentences = 0;
  uint64_t invalid_utf8_lines = 0;  // lines with bytes that are not UTF-8 (they are dropped)
  uint64_t long_lines = 0;          // lines over kMaxLineBytes (truncated)
  uint64_t bad_records = 0;         // malformed records (JSON lines, unclosed <doc>)
  uint64_t skipped = 0;             // pages skipped on purpose (redirects, other namespaces)
  bool ignored = false;  // not a file of the format (a non-.txt file in a BookCorpus tree)
  std::string error;     // unreadable, not a file, read error, truncated stream
  bool usable() const { return error.empty() && documents > 0; }
  std::string problems() const;  // "" when none
};

constexpr size_t kMaxLineBytes = 1 << 20;

// Files named by `inputs` (directories are walked recursively, sorted by path); paths that do
// not exist become reports with an error.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs,
                                       std::vector<FileReport>& missing);

// How a plain-text file is cut into documents.
enum class TextLayout {
  kBlankLineSeparated,  // documents separated by blank lines
  kOneDocumentPerFile,  // the whole file is one document (a BookCorpus book)
};

// Appends the documents of one file.
FileReport read_text_documents(const std::string& path, const SentenceSplitter& splitter,
                               std::vector<RawDocument>& out,
                               TextLayout layout = TextLayout::kBlankLineSeparated);

// Streams the lines of a (possibly gzip-compressed) file to on_line, without the '\n' and a
// trailing '\r'; counts bytes, lines, invalid-UTF-8 and over-long lines (truncated to
// kMaxLineBytes) in r, and sets r.error when the file cannot be opened or read.
void for_each_line(const std::string& path, FileReport& r,
                   const std::function<void(std::string_view)>& on_line);

// True if s is valid UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace kd::text
