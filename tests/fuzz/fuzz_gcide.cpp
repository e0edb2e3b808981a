// Fuzzes kdprune-prep's GCIDE reader (data_prep/gcide_reader.h, built without LibTorch): the
// input as a dictionary file (zlib's gzopen reads it plain or gzip-compressed, as dict-gcide's
// .dict.dz), and the same bytes through the exposed text helpers. The file exists, so read_gcide
// has no reason to throw; the field/definition vectors must stay parallel.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "gcide_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(kd::fuzz::as_view(data, size));
  const std::string path = kd::fuzz::temp_path("gcide.dict");
  kd::fuzz::write_file(path, text);
  size_t entries = 0;
  const kd::prep::GcideStats stats = kd::prep::read_gcide(path, [&](const kd::prep::GcideEntry& e) {
    KD_FUZZ_ASSERT(e.definitions.size() == e.fields.size(), "fields not parallel to definitions");
    ++entries;
  });
  KD_FUZZ_ASSERT(stats.entries == entries, "entry count differs from entries delivered");
  kd::prep::clean_gcide_text(text);
  kd::prep::normalize_gcide_field(text);
  kd::prep::gcide_text_without_field(text);
  return 0;
}
