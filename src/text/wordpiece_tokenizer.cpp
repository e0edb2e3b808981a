#include "text/wordpiece_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "common/check.h"

namespace kd::text {

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, bool lower_case) {
  std::ifstream in(path, std::ios::binary);
  KD_CHECK_HINT(in.good(), "pass --vocab with a BERT vocab.txt (one token per line)",
                "cannot open vocabulary file '{}'", path);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    // HF's WordPiece::read_file trims trailing whitespace of each line.
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    tokens.push_back(line);
  }
  return from_tokens(std::move(tokens), lower_case, path);
}

WordPieceTokenizer WordPieceTokenizer::from_tokens(std::vector<std::string> tokens, bool lower_case,
                                                   const std::string& origin) {
  WordPieceTokenizer t;
  t.tokens_ = std::move(tokens);
  t.basic_ = BasicTokenizer(lower_case);
  t.init(origin);
  return t;
}

void WordPieceTokenizer::init(const std::string& origin) {
  KD_CHECK(!tokens_.empty(), "vocabulary '{}' is empty", origin);
  std::vector<std::string_view> keys, cont_keys;
  std::vector<int32_t> ids, cont_ids;
  is_continuation_.assign(tokens_.size(), 0);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    std::string_view tok = tokens_[i];
    keys.push_back(tok);
    ids.push_back(static_cast<int32_t>(i));
    if (tok.size() > 2 && tok[0] == '#' && tok[1] == '#') {
      cont_keys.push_back(tok.substr(2));
      cont_ids.push_back(static_cast<int32_t>(i));
      is_continuation_[i] = 1;
    }
  }
  head_.build(keys, ids);
  continuation_.build(cont_keys, cont_ids);
  auto need = [&](const char* name) {
    int32_t id = head_.find(name);
    KD_CHECK_HINT(id >= 0, "use a BERT WordPiece vocab.txt", "vocabulary '{}' has no {} token",
                  origin, name);
    specials_.emplace_back(name, id);
    return id;
  };
  pad_id = need("[PAD]");
  unk_id = need("[UNK]");
  cls_id = need("[CLS]");
  sep_id = need("[SEP]");
  mask_id = need("[MASK]");
}

int32_t WordPieceTokenizer::token_id(std::string_view token) const {
  return head_.find(token);
}

const std::string& WordPieceTokenizer::token(int32_t id) const {
  KD_CHECK(id >= 0 && static_cast<size_t>(id) < tokens_.size(),
           "token id {} is outside the vocabulary (size {})", id, tokens_.size());
  return tokens_[id];
}

size_t WordPieceTokenizer::wordpiece(std::string_view word, uint32_t chars,
                                     std::vector<int32_t>& out) const {
  if (chars > kMaxInputCharsPerWord) {
    out.push_back(unk_id);
    return 1;
  }
  // Fast path: the whole word is a vocabulary token (most words of running text).
  if (word.size() <= head_.max_key_size()) {
    int32_t id = head_.find(word);
    if (id >= 0) {
      out.push_back(id);
      return 1;
    }
  }
  const size_t mark = out.size();
  const size_t n = word.size();
  auto is_cont_byte = [&](size_t i) {
    return (static_cast<unsigned char>(word[i]) & 0xC0) == 0x80;
  };
  size_t start = 0;
  while (start < n) {
    const VocabIndex& index = start == 0 ? head_ : continuation_;
    size_t end = std::min(n, start + index.max_key_size());
    while (end < n && end > start && is_cont_byte(end)) --end;  // char boundary
    int32_t found = -1;
    while (end > start) {
      found = index.find(word.substr(start, end - start));
      if (found >= 0) break;
      --end;
      while (end > start && is_cont_byte(end)) --end;
    }
    if (found < 0) {
      out.resize(mark);
      out.push_back(unk_id);
      return 1;
    }
    out.push_back(found);
    start = end;
  }
  return out.size() - mark;
}

void WordPieceTokenizer::encode_segment(std::string_view segment, std::vector<int32_t>& out) const {
  if (segment.empty()) return;
  thread_local std::string buf;
  thread_local std::vector<WordSpan> words;
  buf.clear();
  words.clear();
  basic_.split(segment, buf, words);
  for (const WordSpan& w : words)
    wordpiece(std::string_view(buf.data() + w.begin, w.size), w.chars, out);
}

void WordPieceTokenizer::encode_append(std::string_view text, std::vector<int32_t>& out) const {
  // Special tokens are cut out of the raw text first (HF added tokens, normalized=false).
  size_t seg = 0, pos = 0;
  while (pos < text.size()) {
    const void* hit = std::memchr(text.data() + pos, '[', text.size() - pos);
    if (!hit) break;
    size_t p = static_cast<const char*>(hit) - text.data();
    pos = p + 1;
    for (const auto& [name, id] : specials_) {
      if (text.compare(p, name.size(), name) == 0) {
        encode_segment(text.substr(seg, p - seg), out);
        out.push_back(id);
        seg = pos = p + name.size();
        break;
      }
    }
  }
  encode_segment(text.substr(seg), out);
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 4 + 4);
  encode_append(text, out);
  return out;
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (int32_t id : encode(text)) out.push_back(tokens_[id]);
  return out;
}

namespace {
// HF tokenizers' decoders::wordpiece::cleanup, applied to each (prefixed) token.
void cleanup(std::string& s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    size_t flen = std::strlen(from), tlen = std::strlen(to);
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + tlen))
      s.replace(p, flen, to);
  }
}
}  // namespace

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids,
                                       bool skip_special_tokens) const {
  std::string out, piece;
  bool first = true;
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    const std::string& tok = token(id);
    if (first) {
      piece = tok;
    } else if (tok.size() >= 2 && tok[0] == '#' && tok[1] == '#') {
      piece = tok.substr(2);
    } else {
      piece = " " + tok;
    }
    first = false;
    cleanup(piece);
    out += piece;
  }
  return out;
}

}  // namespace kd::text
