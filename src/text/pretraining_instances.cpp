#include "text/pretraining_instances.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace kd::text {

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  auto splitmix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  return splitmix(splitmix(splitmix(seed) ^ a) ^ (b * 0x9E3779B97F4A7C15ull));
}

bool encode_marked_append(const WordPieceTokenizer& tok, std::string_view sentence,
                          std::vector<int32_t>& out) {
  const std::string_view marker(kSalientMarker);
  bool inside = false;
  for (;;) {
    const size_t at = sentence.find(marker);
    const size_t before = out.size();
    // The pieces are tokenized apart: the same tokens as the whole sentence when the markers
    // sit at word boundaries (the tokenizer would drop them anyway).
    tok.encode_append(sentence.substr(0, at), out);
    if (inside && at != std::string_view::npos)
      for (size_t i = before; i < out.size(); ++i) out[i] |= kSalientBit;
    if (at == std::string_view::npos) return !inside;
    sentence.remove_prefix(at + marker.size());
    inside = !inside;
  }
}

InstanceCreator::InstanceCreator(const WordPieceTokenizer& tokenizer, PretrainingOptions options)
    : tok_(tokenizer), o_(options) {
  KD_CHECK(o_.max_seq_length >= 5, "max_seq_length {} is too small (need at least 5)",
           o_.max_seq_length);
  KD_CHECK(o_.max_predictions >= 1, "max_predictions_per_seq must be at least 1");
}

void InstanceCreator::create(const std::vector<TokenizedDocument>& docs, size_t doc_index, Rng& rng,
                             std::vector<CompactInstance>& out) const {
  const TokenizedDocument& doc = docs[doc_index];
  const int64_t max_num_tokens = o_.max_seq_length - 3;
  int64_t target = max_num_tokens;
  if (rng.uniform() < o_.short_seq_prob) target = rng.randint(2, max_num_tokens);

  std::vector<int32_t> a, b;
  size_t chunk_begin = 0;  // current chunk = sentences [chunk_begin, i]
  int64_t current_length = 0;
  const int64_t nsent = static_cast<int64_t>(doc.num_sentences());
  for (int64_t i = 0; i < nsent; ++i) {
    current_length += doc.sentence_ends[i] - doc.sentence_begin(i);
    if (i != nsent - 1 && current_length < target) continue;
    const int64_t chunk_len = i - static_cast<int64_t>(chunk_begin) + 1;
    int64_t a_end = 1;
    if (chunk_len >= 2) a_end = rng.randint(1, chunk_len - 1);
    a.assign(doc.tokens.begin() + doc.sentence_begin(chunk_begin),
             doc.tokens.begin() + doc.sentence_ends[chunk_begin + a_end - 1]);
    b.clear();
    bool random_next = false;
    if (chunk_len == 1 || rng.uniform() < 0.5) {
      random_next = true;
      const int64_t target_b = target - static_cast<int64_t>(a.size());
      size_t rdoc = doc_index;
      for (int k = 0; k < 10; ++k) {
        rdoc = static_cast<size_t>(rng.randint(0, static_cast<int64_t>(docs.size()) - 1));
        if (rdoc != doc_index) break;
      }
      const TokenizedDocument& r = docs[rdoc];
      int64_t rstart = rng.randint(0, static_cast<int64_t>(r.num_sentences()) - 1);
      for (size_t j = rstart; j < r.num_sentences(); ++j) {
        b.insert(b.end(), r.tokens.begin() + r.sentence_begin(j),
                 r.tokens.begin() + r.sentence_ends[j]);
        if (static_cast<int64_t>(b.size()) >= target_b) break;
      }
      i -= chunk_len - a_end;  // the unused sentences go back into the document
    } else {
      b.assign(doc.tokens.begin() + doc.sentence_ends[chunk_begin + a_end - 1],
               doc.tokens.begin() + doc.sentence_ends[i]);
    }
    // truncate_seq_pair: drop from the front or back of the longer segment at random.
    while (static_cast<int64_t>(a.size() + b.size()) > max_num_tokens) {
      std::vector<int32_t>& t = a.size() > b.size() ? a : b;
      if (rng.uniform() < 0.5)
        t.erase(t.begin());
      else
        t.pop_back();
    }
    if (!a.empty() && !b.empty()) {
      CompactInstance inst;
      inst.tokens.reserve(a.size() + b.size() + 3);
      inst.tokens.push_back(tok_.cls_id);
      inst.tokens.insert(inst.tokens.end(), a.begin(), a.end());
      inst.segment_a_end = static_cast<uint32_t>(inst.tokens.size());
      inst.tokens.push_back(tok_.sep_id);
      inst.tokens.insert(inst.tokens.end(), b.begin(), b.end());
      inst.tokens.push_back(tok_.sep_id);
      inst.random_next = random_next;
      mask(inst, rng);
      out.push_back(std::move(inst));
    }
    chunk_begin = static_cast<size_t>(i + 1);
    current_length = 0;
  }
}

void InstanceCreator::mask(CompactInstance& inst, Rng& rng) const {
  std::vector<int32_t>& tokens = inst.tokens;
  // Candidate groups: single positions, or whole words ("##" pieces join the previous group).
  // Only the last group ever grows, so each group is a contiguous range of `members` (no
  // allocation per token; the same RNG draws as one vector per group).
  // A run of salient tokens is one group of its own (in `salient`, masked first).
  std::vector<int32_t> members;
  std::vector<std::pair<uint32_t, uint32_t>> cand, salient;  // (first member, count)
  members.reserve(tokens.size());
  cand.reserve(tokens.size());
  bool previous_salient = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool is_salient = (tokens[i] & kSalientBit) != 0;
    tokens[i] &= ~kSalientBit;
    if (tokens[i] == tok_.cls_id || tokens[i] == tok_.sep_id) {
      previous_salient = false;
      continue;
    }
    if (is_salient) {
      if (previous_salient)
        ++salient.back().second;
      else
        salient.emplace_back(static_cast<uint32_t>(members.size()), 1u);
    } else if (o_.whole_word_mask && !cand.empty() && !previous_salient &&
               tok_.is_continuation(tokens[i])) {
      ++cand.back().second;
    } else {
      cand.emplace_back(static_cast<uint32_t>(members.size()), 1u);
    }
    previous_salient = is_salient;
    members.push_back(static_cast<int32_t>(i));
  }
  rng.shuffle(cand);
  if (!salient.empty()) {
    rng.shuffle(salient);
    cand.insert(cand.begin(), salient.begin(), salient.end());
  }
  const size_t num_salient = salient.size();
  const auto num_to_predict = std::min<int64_t>(
      o_.max_predictions,
      std::max<int64_t>(1, std::llround(static_cast<double>(tokens.size()) * o_.masked_lm_prob)));
  std::vector<std::pair<int32_t, int32_t>> masked;  // (position, original id)
  std::vector<uint8_t> covered(tokens.size(), 0);
  const auto vocab = static_cast<int64_t>(tok_.vocab_size());
  for (size_t g = 0; g < cand.size(); ++g) {
    const auto [first, count] = cand[g];
    const int32_t* group = members.data() + first;
    if (static_cast<int64_t>(masked.size()) >= num_to_predict) break;
    if (static_cast<int64_t>(masked.size() + count) > num_to_predict) continue;
    bool any = false;
    for (uint32_t k = 0; k < count; ++k) any |= covered[group[k]] != 0;
    if (any) continue;
    for (uint32_t k = 0; k < count; ++k) {
      const int32_t p = group[k];
      covered[p] = 1;
      int32_t original = tokens[p];
      int32_t replacement;
      if (g < num_salient)  // as the cloze a probe asks: always [MASK]
        replacement = tok_.mask_id;
      else if (rng.uniform() < 0.8)
        replacement = tok_.mask_id;
      else if (rng.uniform() < 0.5)
        replacement = original;
      else
        replacement = static_cast<int32_t>(rng.randint(0, vocab - 1));
      tokens[p] = replacement;
      masked.emplace_back(p, original);
    }
  }
  std::sort(masked.begin(), masked.end());
  inst.masked_positions.clear();
  inst.masked_ids.clear();
  for (const auto& [p, id] : masked) {
    inst.masked_positions.push_back(p);
    inst.masked_ids.push_back(id);
  }
}

}  // namespace kd::text
