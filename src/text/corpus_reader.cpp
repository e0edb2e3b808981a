#include "text/corpus_reader.h"

#include <zlib.h>

#include <cstring>

#include "common/check.h"
#include "common/strings.h"
#include "text/wikiextractor_reader.h"
#include "text/wikipedia_reader.h"

namespace kd::text {

CorpusFormat parse_corpus_format(const std::string& name) {
  if (name == "auto") return CorpusFormat::kAuto;
  if (name == "text") return CorpusFormat::kText;
  if (name == "wikipedia") return CorpusFormat::kWikipedia;
  if (name == "wikiextractor") return CorpusFormat::kWikiExtractor;
  if (name == "bookcorpus") return CorpusFormat::kBookCorpus;
  KD_FAIL(
      "unknown corpus format '{}' (expected auto, text, wikipedia, wikiextractor or bookcorpus)",
      name);
}

const char* corpus_format_name(CorpusFormat f) {
  switch (f) {
    case CorpusFormat::kAuto:
      return "auto";
    case CorpusFormat::kText:
      return "text";
    case CorpusFormat::kWikipedia:
      return "wikipedia";
    case CorpusFormat::kWikiExtractor:
      return "wikiextractor";
    case CorpusFormat::kBookCorpus:
      return "bookcorpus";
  }
  return "?";
}

CorpusFormat detect_corpus_format(const std::string& path) {
  if (is_bzip2_file(path)) return CorpusFormat::kWikipedia;
  // The first bytes after any whitespace (gzip is decompressed transparently).
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return CorpusFormat::kText;  // the text reader reports why it cannot be opened
  char head[4096];
  int n = gzread(f, head, sizeof head);
  gzclose(f);
  std::string_view s(head, n > 0 ? n : 0);
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return CorpusFormat::kText;
  s.remove_prefix(b);
  if (s.substr(0, 5) == "<?xml" || s.substr(0, 10) == "<mediawiki")
    return s.find("<mediawiki") != std::string_view::npos ? CorpusFormat::kWikipedia
                                                          : CorpusFormat::kText;
  if (s.substr(0, 5) == "<doc " || s.substr(0, 5) == "<doc>") return CorpusFormat::kWikiExtractor;
  if (s[0] == '{' && s.find("\"text\"") != std::string_view::npos)
    return CorpusFormat::kWikiExtractor;
  return CorpusFormat::kText;
}

FileReport read_corpus_file(const std::string& path, CorpusFormat format,
                            const SentenceSplitter& splitter, std::vector<RawDocument>& out) {
  if (format == CorpusFormat::kAuto) format = detect_corpus_format(path);
  switch (format) {
    case CorpusFormat::kWikipedia:
      return read_wikipedia_dump(path, splitter, out);
    case CorpusFormat::kWikiExtractor:
      return read_wikiextractor_documents(path, splitter, out);
    case CorpusFormat::kBookCorpus:
      if (!ends_with(path, ".txt") && !ends_with(path, ".txt.gz")) {
        FileReport r;
        r.path = path;
        r.ignored = true;
        return r;
      }
      return read_text_documents(path, splitter, out, TextLayout::kOneDocumentPerFile);
    default:
      return read_text_documents(path, splitter, out);
  }
}

}  // namespace kd::text
