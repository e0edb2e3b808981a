// Reader/writer of the safetensors format (https://github.com/huggingface/safetensors):
// 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}
// (+ optional "__metadata__": {string: string}), then the data region, which the tensors must
// cover exactly (no holes, no overlaps). Used for model weights and for optimizer state in
// training checkpoints.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kd::model {

struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;  // CPU, in their stored dtype
  std::map<std::string, std::string> metadata;   // "__metadata__"
};

// Reads and validates a whole file; throws kd::Error naming the file and the problem.
// Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
SafetensorsFile read_safetensors(const std::string& path);
std::map<std::string, torch::Tensor> load_safetensors(const std::string& path);

// Writes tensors (any device; copied to CPU, contiguous) in the given order, atomically:
// a temporary file beside `path`, fsync, rename, fsync of the directory. Names must be unique.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// "F32" etc. for a torch dtype (throws for unsupported ones) and back.
std::string safetensors_dtype_name(torch::ScalarType t);

}  // namespace kd::model
