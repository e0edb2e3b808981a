#include "text/wikipedia_reader.h"

#include <bzlib.h>
#include <expat.h>
#include <strings.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "text/wikitext_cleaner.h"

namespace kd::text {
namespace fs = std::filesystem;
namespace {

// The parser's current line. Expat 2.9 (Debian 13) deprecates XML_GetCurrentLineNumber for its
// 64-bit variant; 2.5 (Debian 12) has only the former.
uint64_t xml_line(XML_Parser parser) {
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 9)
  return XML_GetCurrentLineNumber64(parser);
#else
  return XML_GetCurrentLineNumber(parser);
#endif
}

// Plain or bz2-compressed bytes of a file. bz2 files may hold several concatenated streams
// (the multistream dumps). read() returns the number of bytes produced, 0 at a clean end, and
// -1 with error() set on a read error, corrupt data or a stream cut short.
class ByteSource {
 public:
  ByteSource(std::FILE* f, bool bz2) : f_(f), bz2_(bz2), in_(1 << 16) {}
  ~ByteSource() {
    if (open_) BZ2_bzDecompressEnd(&s_);
  }
  uint64_t file_bytes() const { return file_bytes_; }
  const std::string& error() const { return error_; }

  long read(char* buf, size_t n) {
    if (!bz2_) return read_file(buf, n);
    s_.next_out = buf;
    s_.avail_out = static_cast<unsigned>(n);
    while (s_.avail_out == n) {
      if (s_.avail_in == 0 && !eof_) {
        long k = read_file(in_.data(), in_.size());
        if (k < 0) return -1;
        eof_ = k == 0;
        s_.next_in = in_.data();
        s_.avail_in = static_cast<unsigned>(k);
      }
      if (!open_) {
        if (s_.avail_in == 0 && eof_) return 0;  // clean end after a complete stream
        char* next_in = s_.next_in;
        unsigned avail_in = s_.avail_in;
        s_ = bz_stream{};
        if (BZ2_bzDecompressInit(&s_, 0, 0) != BZ_OK) return fail("cannot initialise bz2");
        s_.next_in = next_in;
        s_.avail_in = avail_in;
        s_.next_out = buf;
        s_.avail_out = static_cast<unsigned>(n);
        open_ = true;
      }
      int ret = BZ2_bzDecompress(&s_);
      if (ret == BZ_STREAM_END) {
        BZ2_bzDecompressEnd(&s_);
        open_ = false;
        if (s_.avail_out != n) break;
        continue;
      }
      if (ret != BZ_OK) {
        return fail(ret == BZ_DATA_ERROR_MAGIC ? "not bz2 data (bad magic)" : "corrupt bz2 data");
      }
      if (s_.avail_in == 0 && eof_ && s_.avail_out == n) return fail("truncated bz2 stream");
    }
    return static_cast<long>(n - s_.avail_out);
  }

 private:
  long read_file(char* buf, size_t n) {
    size_t k = std::fread(buf, 1, n, f_);
    if (k == 0 && std::ferror(f_)) {
      error_ = std::string("read error: ") + std::strerror(errno);
      return -1;
    }
    file_bytes_ += k;
    return static_cast<long>(k);
  }
  long fail(const char* what) {
    error_ = what;
    return -1;
  }

  std::FILE* f_;
  bool bz2_;
  std::vector<char> in_;
  bz_stream s_{};
  bool open_ = false, eof_ = false;
  uint64_t file_bytes_ = 0;
  std::string error_;
};

// expat callbacks: collects <title>, <ns>, <redirect/> and the last <text> of each <page>.
struct PageCollector {
  const SentenceSplitter* splitter;
  std::vector<RawDocument>* out;
  FileReport* report;
  bool in_page = false;
  enum Field { kNone, kTitle, kNs, kText } field = kNone;
  std::string title, ns, text;
  bool redirect = false;
  uint64_t pages = 0;

  void start(const char* name) {
    if (std::strcmp(name, "page") == 0) {
      in_page = true;
      title.clear();
      ns.clear();
      text.clear();
      redirect = false;
    } else if (!in_page) {
      return;
    } else if (std::strcmp(name, "title") == 0) {
      field = kTitle;
    } else if (std::strcmp(name, "ns") == 0) {
      field = kNs;
    } else if (std::strcmp(name, "text") == 0) {
      field = kText;
      text.clear();
    } else if (std::strcmp(name, "redirect") == 0) {
      redirect = true;
    }
  }
  void end(const char* name) {
    if (std::strcmp(name, "page") == 0) {
      in_page = false;
      finish_page();
    }
    field = kNone;
  }
  void chars(const char* s, int len) {
    if (field == kTitle) title.append(s, len);
    if (field == kNs) ns.append(s, len);
    if (field == kText) text.append(s, len);
  }
  void finish_page() {
    ++pages;
    bool main_ns = ns.empty() || ns == "0";
    size_t first = text.find_first_not_of(" \t\r\n");
    bool redirect_text = first != std::string::npos && text.size() - first >= 9 &&
                         strncasecmp(text.c_str() + first, "#redirect", 9) == 0;
    if (!main_ns || redirect || redirect_text || is_disambiguation(title, text)) {
      ++report->skipped;
      return;
    }
    RawDocument doc;
    for (const auto& paragraph : clean_wikitext(text))
      for (std::string_view s : splitter->split(paragraph)) doc.sentences.emplace_back(s);
    if (doc.sentences.empty()) {
      ++report->skipped;
      return;
    }
    report->sentences += doc.sentences.size();
    ++report->documents;
    out->push_back(std::move(doc));
  }
};

void XMLCALL on_start(void* u, const XML_Char* name, const XML_Char**) {
  static_cast<PageCollector*>(u)->start(name);
}
void XMLCALL on_end(void* u, const XML_Char* name) {
  static_cast<PageCollector*>(u)->end(name);
}
void XMLCALL on_chars(void* u, const XML_Char* s, int len) {
  static_cast<PageCollector*>(u)->chars(s, len);
}

}  // namespace

bool is_bzip2_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[3] = {};
  size_t k = std::fread(magic, 1, 3, f);
  std::fclose(f);
  return k == 3 && std::memcmp(magic, "BZh", 3) == 0;
}

FileReport read_wikipedia_dump(const std::string& path, const SentenceSplitter& splitter,
                               std::vector<RawDocument>& out) {
  FileReport r;
  r.path = path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    r.error = "not a regular file";
    return r;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    r.error = std::string("cannot open: ") + std::strerror(errno);
    return r;
  }
  ByteSource src(f.get(), is_bzip2_file(path));
  std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> parser(XML_ParserCreate(nullptr),
                                                                 &XML_ParserFree);
  PageCollector pc{&splitter, &out, &r};
  XML_SetUserData(parser.get(), &pc);
  XML_SetElementHandler(parser.get(), on_start, on_end);
  XML_SetCharacterDataHandler(parser.get(), on_chars);
  std::vector<char> buf(1 << 18);
  auto where = [&] {
    return " after " + std::to_string(r.documents) + " articles (" + std::to_string(pc.pages) +
           " pages)";
  };
  uint64_t xml_bytes = 0;
  for (;;) {
    long n = src.read(buf.data(), buf.size());
    if (n < 0) {
      r.error = src.error() + where();
      break;
    }
    xml_bytes += n;
    if (xml_bytes == 0) break;  // empty file: reported as such, not as an XML error
    if (XML_Parse(parser.get(), buf.data(), static_cast<int>(n), n == 0) == XML_STATUS_ERROR) {
      r.error = std::string("XML error at line ") + std::to_string(xml_line(parser.get())) + ": " +
                XML_ErrorString(XML_GetErrorCode(parser.get())) + where();
      break;
    }
    if (n == 0) break;
  }
  r.bytes = src.file_bytes();
  return r;
}

}  // namespace kd::text
