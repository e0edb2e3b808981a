#include "text/vocab_index.h"

#include <cstring>

namespace kd::text {

uint64_t VocabIndex::hash(const char* p, size_t n) {
  // Word-at-a-time multiply-xorshift; tokens are short, so the tail load dominates.
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0xC2B2AE3D27D4EB4Full ^ (n * kMul);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * kMul;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

void VocabIndex::build(const std::vector<std::string_view>& keys, const std::vector<int32_t>& ids) {
  size_t cap = 16;
  while (cap < keys.size() * 2 + 1) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  arena_.clear();
  max_len_ = 0;
  count_ = 0;
  for (size_t k = 0; k < keys.size(); ++k) {
    std::string_view key = keys[k];
    uint64_t h = hash(key.data(), key.size());
    auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s.tag = tag;
        s.offset = static_cast<uint32_t>(arena_.size());
        s.len = static_cast<uint32_t>(key.size());
        s.id = ids[k];
        arena_.append(key);
        ++count_;
        break;
      }
      if (s.tag == tag && s.len == key.size() && arena_.compare(s.offset, s.len, key) == 0) {
        s.id = ids[k];
        break;
      }
    }
    if (key.size() > max_len_) max_len_ = key.size();
  }
}

}  // namespace kd::text
