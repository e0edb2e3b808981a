// Fuzzes the pre-training corpus readers (text/corpus_reader.h and what it dispatches to). The
// first input byte chooses the path; the rest is the file or the text:
//   0 auto-detect   1 plain text   2 Wikipedia XML   3 Wikipedia XML compressed here with bzip2
//   4 WikiExtractor 5 BookCorpus (.txt, one document per file)   6 plain text compressed with gzip
//   7 clean_wikitext + is_disambiguation on the text   8 decode_html_entities on the text
// Modes 3 and 6 reach the XML and line parsers behind a valid compressed stream, which random
// bytes rarely are. The readers promise never to throw on bad input (problems go into the
// FileReport), so any exception here is a finding.
#include <bzlib.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "text/corpus_reader.h"
#include "text/html_entities.h"
#include "text/wikipedia_reader.h"
#include "text/wikitext_cleaner.h"

namespace {

using namespace kd::text;

std::string bzip2(std::string_view in) {
  unsigned int len = static_cast<unsigned int>(in.size() + in.size() / 100 + 600);
  std::string out(len, '\0');
  int rc = BZ2_bzBuffToBuffCompress(out.data(), &len, const_cast<char*>(in.data()),
                                    static_cast<unsigned int>(in.size()), 1, 0, 0);
  KD_FUZZ_ASSERT(rc == BZ_OK, "bzip2 compression failed");
  out.resize(len);
  return out;
}

std::string gzip(std::string_view in) {
  z_stream z{};
  KD_FUZZ_ASSERT(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
                 "deflateInit2");
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  KD_FUZZ_ASSERT(deflate(&z, Z_FINISH) == Z_STREAM_END, "gzip compression failed");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void check(const FileReport& r, const std::vector<RawDocument>& docs) {
  KD_FUZZ_ASSERT(r.documents == docs.size(), "document count differs from documents returned");
  for (const RawDocument& d : docs)
    for (const std::string& s : d.sentences) KD_FUZZ_ASSERT(!s.empty(), "empty sentence");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const SentenceSplitter splitter;
  const std::string_view text = kd::fuzz::as_view(data + 1, size - 1);
  const int mode = data[0] % 9;
  if (mode == 7) {
    for (const std::string& p : clean_wikitext(text)) KD_FUZZ_ASSERT(!p.empty(), "empty paragraph");
    is_disambiguation(text.substr(0, text.find('\n')), text);
    return 0;
  }
  if (mode == 8) {
    decode_html_entities(text);
    return 0;
  }
  static const CorpusFormat kFormats[] = {CorpusFormat::kAuto,          CorpusFormat::kText,
                                          CorpusFormat::kWikipedia,     CorpusFormat::kWikipedia,
                                          CorpusFormat::kWikiExtractor, CorpusFormat::kBookCorpus,
                                          CorpusFormat::kText};
  const std::string path = kd::fuzz::temp_path(mode == 5 ? "book.txt" : "corpus");
  kd::fuzz::write_file(path, mode == 3 ? bzip2(text) : mode == 6 ? gzip(text) : std::string(text));
  std::vector<RawDocument> docs;
  const FileReport r = read_corpus_file(path, kFormats[mode], splitter, docs);
  check(r, docs);
  return 0;
}
