#include "text/text_document_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "text/basic_tokenizer.h"

namespace kd::text {
namespace fs = std::filesystem;

std::string FileReport::problems() const {
  std::string s;
  if (ignored) return s;
  auto add = [&](const std::string& p) { s += (s.empty() ? "" : "; ") + p; };
  if (!error.empty()) add(error);
  if (error.empty() && bytes == 0) add("empty file");
  if (error.empty() && bytes > 0 && documents == 0) add("no documents");
  if (invalid_utf8_lines) add(std::to_string(invalid_utf8_lines) + " lines with invalid UTF-8");
  if (bad_records) add(std::to_string(bad_records) + " malformed records");
  if (long_lines) add(std::to_string(long_lines) + " lines over 1 MiB truncated");
  return s;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    int32_t cp;
    int len = decode_utf8(s, i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs,
                                       std::vector<FileReport>& missing) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::end(it);
           it.increment(ec))
        if (it->is_regular_file(ec)) found.push_back(it->path().string());
      if (ec) {
        FileReport r;
        r.path = in;
        r.error = "cannot list directory: " + ec.message();
        missing.push_back(r);
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      files.push_back(in);
    } else {
      FileReport r;
      r.path = in;
      r.error = "no such file or directory";
      missing.push_back(r);
    }
  }
  return files;
}

void for_each_line(const std::string& path, FileReport& r,
                   const std::function<void(std::string_view)>& on_line) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    r.error = "not a regular file";
    return;
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    r.error = std::string("cannot open: ") + std::strerror(errno);
    return;
  }
  gzbuffer(f, 1 << 18);
  auto emit = [&](std::string_view line) {
    ++r.lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!valid_utf8(line)) ++r.invalid_utf8_lines;
    on_line(line);
  };
  std::vector<char> chunk(1 << 18);
  std::string line;
  bool truncated = false;
  for (;;) {
    int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int err;
      r.error = std::string("read error: ") + gzerror(f, &err);
      break;
    }
    if (n == 0) break;
    r.bytes += n;
    const char* p = chunk.data();
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      const char* stop = nl ? nl : end;
      if (!truncated) {
        size_t take =
            std::min<size_t>(stop - p, kMaxLineBytes - std::min(kMaxLineBytes, line.size()));
        line.append(p, take);
        if (take < static_cast<size_t>(stop - p)) {
          truncated = true;
          ++r.long_lines;
        }
      }
      if (!nl) break;
      emit(line);
      line.clear();
      truncated = false;
      p = nl + 1;
    }
  }
  if (!line.empty()) emit(line);
  gzclose(f);
}

FileReport read_text_documents(const std::string& path, const SentenceSplitter& splitter,
                               std::vector<RawDocument>& out, TextLayout layout) {
  FileReport r;
  r.path = path;
  RawDocument doc;
  auto end_document = [&] {
    if (!doc.sentences.empty()) {
      r.sentences += doc.sentences.size();
      ++r.documents;
      out.push_back(std::move(doc));
      doc = RawDocument{};
    }
  };
  for_each_line(path, r, [&](std::string_view line) {
    bool blank = std::all_of(line.begin(), line.end(), [](char c) {
      return c == ' ' || c == '\t' || c == '\f' || c == '\v';
    });
    if (blank) {
      if (layout == TextLayout::kBlankLineSeparated) end_document();
      return;
    }
    for (std::string_view s : splitter.split(line)) doc.sentences.emplace_back(s);
  });
  end_document();
  return r;
}

}  // namespace kd::text
