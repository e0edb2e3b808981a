// Fuzzes the BERT WordPiece tokenizer (basic normalisation via utf8proc, special-token matching,
// greedy longest-match-first) on arbitrary bytes with the real bert-base-uncased vocabulary,
// lower-cased and cased. Tokenizing never rejects input, so any kd::Error here is a finding too;
// the ids must lie in the vocabulary and the three entry points must agree.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "text/wordpiece_tokenizer.h"

namespace {

using kd::text::WordPieceTokenizer;

// KD_FUZZ_VOCAB overrides the repository's copy (e.g. ../shared/data/bert-base-uncased/vocab.txt).
std::string vocab_path() {
  const char* env = std::getenv("KD_FUZZ_VOCAB");
  return env && *env ? env : KD_SOURCE_DIR "/data/vocab/bert-base-uncased-vocab.txt";
}

// Loaded once: building the 30522-token index per input would dominate the run.
const WordPieceTokenizer& tokenizer(bool lower_case) {
  static const WordPieceTokenizer uncased = WordPieceTokenizer::from_vocab_file(vocab_path(), true);
  static const WordPieceTokenizer cased = WordPieceTokenizer::from_vocab_file(vocab_path(), false);
  return lower_case ? uncased : cased;
}

void check(const WordPieceTokenizer& tok, std::string_view text) {
  const std::vector<int32_t> ids = tok.encode(text);
  for (int32_t id : ids)
    KD_FUZZ_ASSERT(id >= 0 && static_cast<size_t>(id) < tok.vocab_size(), "id outside vocab");
  // encode_append must append exactly encode()'s ids after what is already there.
  std::vector<int32_t> appended{tok.cls_id};
  tok.encode_append(text, appended);
  KD_FUZZ_ASSERT(
      appended.size() == ids.size() + 1 && std::equal(ids.begin(), ids.end(), appended.begin() + 1),
      "encode_append differs from encode");
  KD_FUZZ_ASSERT(tok.tokenize(text).size() == ids.size(), "tokenize differs from encode");
  tok.decode(ids);
  tok.decode(ids, /*skip_special_tokens=*/true);
  for (int32_t id : ids) (void)tok.is_continuation(id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = kd::fuzz::as_view(data, size);
  check(tokenizer(true), text);
  check(tokenizer(false), text);
  return 0;
}
