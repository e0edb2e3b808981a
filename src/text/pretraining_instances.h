// BERT pre-training instances with the semantics of Google's create_pretraining_data.py (and
// NVIDIA's copy of it): documents of tokenized sentences are packed into segment pairs of up to
// max_seq_length-3 tokens (a shorter random target with probability short_seq_prob); segment B
// is the actual continuation, or (half the time, and always for one-chunk documents) a random
// stretch of another document, whose unused sentences are then put back; pairs are truncated
// from a random end of the longer segment; 15% of the non-special tokens (at least 1, at most
// max_predictions) are masked: 80% [MASK], 10% kept, 10% a uniformly random vocabulary token;
// whole-word masking groups "##" pieces with their word.
// Salient spans (REALM's salient-span masking, an extension): tokens a document marks salient
// (e.g. a fact's object) form one group each and are masked before any other group, always
// as [MASK]; a document without salient tokens gives exactly the script's instances.
//
// Randomness: one splitmix64-seeded xoshiro256** per (seed, dupe round, document), so the
// output does not depend on the number of threads (Python's random cannot be reproduced here;
// the distributions are the script's).
#pragma once
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "text/wordpiece_tokenizer.h"

namespace kd::text {

// A token id with this bit set is salient (see above). The flag rides in the id so that the
// packing and truncation code copies it with the token; mask() strips it from every instance.
constexpr int32_t kSalientBit = int32_t{1} << 30;

// How a corpus marks a salient span in text: U+2063 INVISIBLE SEPARATOR before and after it
// (at word boundaries). A format character, so BERT tokenizers, kdprune's included, drop it:
// a marked corpus reads as plain text everywhere else.
inline constexpr const char* kSalientMarker = "\xE2\x81\xA3";

// Tokenizes `sentence` onto `out`, setting kSalientBit on the tokens between marker pairs.
// Returns false (and leaves the last span unmarked) when the markers are unbalanced.
bool encode_marked_append(const WordPieceTokenizer& tok, std::string_view sentence,
                          std::vector<int32_t>& out);

// One document: all sentence tokens back to back, and where each sentence ends.
struct TokenizedDocument {
  std::vector<int32_t> tokens;
  std::vector<uint32_t> sentence_ends;  // exclusive end offsets into tokens, increasing
  size_t num_sentences() const { return sentence_ends.size(); }
  uint32_t sentence_begin(size_t i) const { return i == 0 ? 0 : sentence_ends[i - 1]; }
};

struct PretrainingOptions {
  int max_seq_length = 128;
  int max_predictions = 20;
  double short_seq_prob = 0.1;
  double masked_lm_prob = 0.15;
  bool whole_word_mask = false;
};

// Unpadded instance: tokens = [CLS] A [SEP] B [SEP] after masking.
struct CompactInstance {
  std::vector<int32_t> tokens;
  uint32_t segment_a_end = 0;             // index of the first [SEP]; segment ids are 1 after it
  std::vector<int32_t> masked_positions;  // increasing
  std::vector<int32_t> masked_ids;        // original tokens
  bool random_next = false;
};

// Python-like helpers on xoshiro256** (seeded through splitmix64): one Rng per document and
// dupe round, so seeding must be cheap (a Mersenne twister's 312-word state made seeding ~7% of
// the whole run). Implementation-independent, unlike std::uniform_*_distribution.
struct Rng {
  uint64_t s[4];
  explicit Rng(uint64_t seed) {
    for (auto& w : s) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Inclusive [lo, hi].
  int64_t randint(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[randint(0, i - 1)]);
  }
};

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

class InstanceCreator {
 public:
  InstanceCreator(const WordPieceTokenizer& tokenizer, PretrainingOptions options);

  // Appends the instances of docs[doc_index] (one dupe round) to `out`.
  void create(const std::vector<TokenizedDocument>& docs, size_t doc_index, Rng& rng,
              std::vector<CompactInstance>& out) const;
  // Masks tokens in place (create_masked_lm_predictions); exposed for tests.
  void mask(CompactInstance& inst, Rng& rng) const;

  const PretrainingOptions& options() const { return o_; }

 private:
  const WordPieceTokenizer& tok_;
  PretrainingOptions o_;
};

}  // namespace kd::text
