// Fuzzes read_safetensors (model/safetensors.h), the reader of model weights and optimizer
// state, on the input written to a temporary file. kd::Error is the documented rejection; a
// c10::Error, nlohmann exception or allocation failure escaping it is a finding. An accepted
// file must describe its tensors consistently (the reader checked that the data region is
// tiled exactly), which is re-checked from the returned tensors.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = kd::fuzz::temp_path("model.safetensors");
  kd::fuzz::write_file(path, kd::fuzz::as_view(data, size));
  kd::model::SafetensorsFile file;
  try {
    file = kd::model::read_safetensors(path);
  } catch (const kd::Error&) {
    return 0;
  }
  uint64_t bytes = 0;
  for (const auto& [name, t] : file.tensors) {
    KD_FUZZ_ASSERT(t.defined() && t.is_contiguous(), "tensor not defined or not contiguous");
    bytes += t.nbytes();
  }
  KD_FUZZ_ASSERT(bytes <= size, "tensors hold more bytes than the file");
  return 0;
}
