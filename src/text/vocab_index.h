// Open-addressing hash table from token bytes to id, looked up by std::string_view without
// allocating (std::unordered_map<std::string, int> would need a std::string per probe).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kd::text {

class VocabIndex {
 public:
  // Builds the table for `keys[i] -> ids[i]`; a later duplicate key overrides an earlier one
  // (as HF's vocab loading does).
  void build(const std::vector<std::string_view>& keys, const std::vector<int32_t>& ids);
  // -1 if absent.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    uint64_t h = hash(key.data(), key.size());
    auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && s.len == key.size() &&
          std::char_traits<char>::compare(arena_.data() + s.offset, key.data(), s.len) == 0)
        return s.id;
    }
  }
  size_t max_key_size() const { return max_len_; }
  size_t size() const { return count_; }

  static uint64_t hash(const char* p, size_t n);

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t offset = 0;
    uint32_t len = 0;
    int32_t id = -1;
  };
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t max_len_ = 0;
  size_t count_ = 0;
};

}  // namespace kd::text
