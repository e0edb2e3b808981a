#include "text/wikiextractor_reader.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "text/html_entities.h"

namespace kd::text {
namespace {

// title="…" from a <doc …> line, entities decoded.
std::string doc_title(std::string_view line) {
  size_t t = line.find("title=\"");
  if (t == std::string_view::npos) return {};
  size_t e = line.find('"', t + 7);
  if (e == std::string_view::npos) return {};
  return decode_html_entities(line.substr(t + 7, e - t - 7));
}

// Collects one article's paragraphs into a document.
class Article {
 public:
  Article(const SentenceSplitter& splitter, std::vector<RawDocument>& out, FileReport& r)
      : splitter_(splitter), out_(out), r_(r) {}
  void begin(std::string title) {
    title_ = std::move(title);
    first_line_ = true;
    doc_ = RawDocument{};
  }
  void line(std::string_view raw) {
    std::string_view l = trim_space(raw);
    if (l.empty()) return;
    std::string text = decode_html_entities(l);
    if (first_line_) {
      first_line_ = false;
      if (trim_space(text) == trim_space(title_)) return;  // WikiExtractor repeats the title first
    }
    for (std::string_view s : splitter_.split(text)) doc_.sentences.emplace_back(s);
  }
  void end() {
    if (doc_.sentences.empty()) return;
    r_.sentences += doc_.sentences.size();
    ++r_.documents;
    out_.push_back(std::move(doc_));
    doc_ = RawDocument{};
  }

 private:
  const SentenceSplitter& splitter_;
  std::vector<RawDocument>& out_;
  FileReport& r_;
  std::string title_;
  bool first_line_ = true;
  RawDocument doc_;
};

}  // namespace

FileReport read_wikiextractor_documents(const std::string& path, const SentenceSplitter& splitter,
                                        std::vector<RawDocument>& out) {
  FileReport r;
  r.path = path;
  Article article(splitter, out, r);
  enum { kUnknown, kDocs, kJson } mode = kUnknown;
  bool in_doc = false;
  for_each_line(path, r, [&](std::string_view raw) {
    std::string_view l = trim_space(raw);
    if (mode == kUnknown) {
      if (l.empty()) return;
      mode = l[0] == '{' ? kJson : kDocs;
    }
    if (mode == kJson) {
      if (l.empty()) return;
      auto j = nlohmann::json::parse(l, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string()) {
        ++r.bad_records;
        return;
      }
      std::string title =
          j.contains("title") && j["title"].is_string() ? j["title"].get<std::string>() : "";
      const std::string& text = j["text"].get_ref<const std::string&>();
      article.begin(title);
      size_t start = 0;
      while (start <= text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        article.line(std::string_view(text).substr(start, nl - start));
        start = nl + 1;
      }
      article.end();
      return;
    }
    if (l.substr(0, 5) == "<doc " || l == "<doc>") {
      if (in_doc) {  // previous <doc> never closed
        ++r.bad_records;
        article.end();
      }
      article.begin(doc_title(l));
      in_doc = true;
    } else if (l == "</doc>") {
      if (in_doc) article.end();
      in_doc = false;
    } else if (in_doc) {
      article.line(l);
    }
  });
  if (in_doc) {
    ++r.bad_records;
    article.end();
  }
  return r;
}

}  // namespace kd::text
