#include "model/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "model/shape_util.h"

namespace kd::model {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMaxHeader = 100ull * 1000 * 1000;  // 100 MB: anything larger is corrupt
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little-endian");

const std::vector<std::pair<std::string, torch::ScalarType>>& dtype_table() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> t = {
      {"F64", torch::kDouble},    {"F32", torch::kFloat}, {"F16", torch::kHalf},
      {"BF16", torch::kBFloat16}, {"I64", torch::kLong},  {"I32", torch::kInt},
      {"I16", torch::kShort},     {"I8", torch::kChar},   {"U8", torch::kByte},
      {"BOOL", torch::kBool}};
  return t;
}

bool dtype_from_name(const std::string& name, torch::ScalarType* out) {
  for (const auto& [n, t] : dtype_table())
    if (n == name) {
      *out = t;
      return true;
    }
  return false;
}

struct Entry {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    KD_CHECK_HINT(w > 0, "check free disk space and permissions", "{}: write failed: {}", path,
                  std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType t) {
  for (const auto& [n, d] : dtype_table())
    if (d == t) return n;
  KD_FAIL("safetensors: dtype {} cannot be stored", c10::toString(t));
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  KD_CHECK_HINT(in.good(), "check the path", "{}: cannot open safetensors file", path);
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  KD_CHECK(file_size >= 8,
           "{}: not a safetensors file: {} bytes, shorter than the 8-byte header "
           "length",
           path, file_size);
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  KD_CHECK(n <= kMaxHeader, "{}: corrupt safetensors file: header length {} is absurd (> 100 MB)",
           path, n);
  KD_CHECK(n <= file_size - 8,
           "{}: corrupt safetensors file: header length {} is larger than the file ({} bytes)",
           path, n, file_size);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  KD_CHECK(in.good(), "{}: read error in the safetensors header", path);

  json j;
  try {
    j = json::parse(header);
  } catch (const json::exception& e) {
    KD_FAIL("{}: corrupt safetensors file: invalid JSON header ({})", path, e.what());
  }
  KD_CHECK(j.is_object(), "{}: corrupt safetensors file: header is not a JSON object", path);

  SafetensorsFile result;
  std::vector<Entry> entries;
  const uint64_t data_size = file_size - 8 - n;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      KD_CHECK(v.is_object(), "{}: __metadata__ must be an object of strings", path);
      for (auto m = v.begin(); m != v.end(); ++m) {
        KD_CHECK(m.value().is_string(), "{}: __metadata__ value '{}' is not a string", path,
                 m.key());
        result.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    KD_CHECK(
        v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"),
        "{}: tensor '{}': header entry needs dtype, shape and data_offsets, got {}", path, name,
        v.dump());
    Entry e;
    e.name = name;
    KD_CHECK(v["dtype"].is_string(), "{}: tensor '{}': dtype is not a string", path, name);
    const std::string dt = v["dtype"].get<std::string>();
    KD_CHECK_HINT(dtype_from_name(dt, &e.dtype),
                  "supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL",
                  "{}: tensor '{}': unknown dtype '{}'", path, name, dt);
    KD_CHECK(v["shape"].is_array(), "{}: tensor '{}': shape is not a list", path, name);
    // Sizes multiply with overflow checks: a shape like [2^32, 2^32] must not wrap to 0 bytes and
    // pass the size check below, to fail later in an allocation.
    uint64_t numel = 1;
    for (const auto& s : v["shape"]) {
      KD_CHECK(s.is_number_unsigned() || (s.is_number_integer() && s.get<int64_t>() >= 0),
               "{}: tensor '{}': invalid shape {}", path, name, v["shape"].dump());
      const uint64_t dim = s.get<uint64_t>();
      KD_CHECK(
          dim <= static_cast<uint64_t>(INT64_MAX) && !__builtin_mul_overflow(numel, dim, &numel),
          "{}: corrupt safetensors file: tensor '{}': shape {} overflows 64 bits", path, name,
          v["shape"].dump());
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& off = v["data_offsets"];
    KD_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() &&
                 off[1].is_number_unsigned(),
             "{}: tensor '{}': data_offsets must be [begin, end], got {}", path, name, off.dump());
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    KD_CHECK(e.begin <= e.end && e.end <= data_size,
             "{}: tensor '{}': data offsets [{}, {}] out of range of the data region ({} bytes)",
             path, name, e.begin, e.end, data_size);
    uint64_t expect = 0;
    KD_CHECK(!__builtin_mul_overflow(numel, c10::elementSize(e.dtype), &expect),
             "{}: corrupt safetensors file: tensor '{}': shape {} overflows 64 bits of bytes", path,
             name, v["shape"].dump());
    KD_CHECK(e.end - e.begin == expect,
             "{}: tensor '{}': byte size {} != {} ({} x {} elements of shape {})", path, name,
             e.end - e.begin, expect, dt, numel, shape_str(e.shape));
    entries.push_back(std::move(e));
  }

  // The tensors must tile the data region exactly: sorted by offset, no overlap, no hole.
  std::vector<const Entry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  for (const Entry* e : order) {
    KD_CHECK(e->begin >= pos,
             "{}: corrupt safetensors file: tensor '{}' [{}, {}] overlaps the "
             "previous tensor (ends at {})",
             path, e->name, e->begin, e->end, pos);
    KD_CHECK(e->begin == pos,
             "{}: corrupt safetensors file: tensors do not cover the data "
             "region: hole of {} bytes before tensor '{}'",
             path, e->begin - pos, e->name);
    pos = e->end;
  }
  KD_CHECK(pos == data_size,
           "{}: corrupt safetensors file: tensors do not cover the data region "
           "({} of {} bytes used)",
           path, pos, data_size);

  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype));
    if (e.end > e.begin) {
      in.seekg(static_cast<std::streamoff>(8 + n + e.begin));
      in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin));
      KD_CHECK(in.good(), "{}: read error in tensor '{}'", path, e.name);
    }
    result.tensors[e.name] = t;
  }
  return result;
}

std::map<std::string, torch::Tensor> load_safetensors(const std::string& path) {
  return read_safetensors(path).tensors;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    KD_CHECK(name != "__metadata__", "{}: '__metadata__' is reserved, not a tensor name", path);
    KD_CHECK(!header.contains(name), "{}: duplicate tensor name '{}'", path, name);
    KD_CHECK(tensor.defined(), "{}: tensor '{}' is undefined", path, name);
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // pad so the data region starts 8-byte aligned
  unsigned char len_bytes[8];
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);

  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KD_CHECK_HINT(fd >= 0, "check that the directory exists and is writable",
                "{}: cannot create temporary file {}: {}", path, tmp, std::strerror(errno));
  try {
    write_all(fd, len_bytes, 8, tmp);
    write_all(fd, h.data(), h.size(), tmp);
    for (const auto& t : data)
      if (t.numel() > 0)
        write_all(fd, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size(), tmp);
    KD_CHECK(::fsync(fd) == 0, "{}: fsync failed: {}", tmp, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  KD_CHECK(::close(fd) == 0, "{}: close failed: {}", tmp, std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    KD_FAIL("{}: cannot rename {} into place: {}", path, tmp, std::strerror(err));
  }
  // Make the rename itself durable.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace kd::model
