#include "data/h5_util.h"

#include <vector>

namespace kd::data::h5 {

void silence_errors() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

namespace {
herr_t collect(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (err->desc && *err->desc) out->emplace_back(err->desc);
  return 0;
}
}  // namespace

std::string take_error_text() {
  std::vector<std::string> descs;
  // Upward: innermost (most specific) error first.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &descs);
  H5Eclear2(H5E_DEFAULT);
  std::string text;
  for (size_t i = 0; i < descs.size() && i < 3; ++i) {
    if (!text.empty()) text += "; ";
    text += descs[i];
  }
  return text;
}

void fail_h5(const char* file, int line, const std::string& context) {
  std::string reasons = take_error_text();
  ::kd::fail_at(file, line,
                reasons.empty() ? context : fmt::format("{} (HDF5: {})", context, reasons));
}

herr_t Id::close() {
  if (id_ < 0) return 0;
  hid_t id = id_;
  id_ = H5I_INVALID_HID;
  return H5Idec_ref(id) < 0 ? -1 : 0;
}

void Id::reset() noexcept {
  if (id_ >= 0) {
    H5Idec_ref(id_);
    H5Eclear2(H5E_DEFAULT);
  }
  id_ = H5I_INVALID_HID;
}

void write_int64_attribute(hid_t object, const char* name, int64_t value,
                           const std::string& where) {
  Id space(KD_H5(H5Screate(H5S_SCALAR), "'{}': attribute '{}'", where, name));
  Id attr(KD_H5(H5Acreate2(object, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                "'{}': cannot create attribute '{}'", where, name));
  KD_H5(H5Awrite(attr, H5T_NATIVE_INT64, &value), "'{}': cannot write attribute '{}'", where, name);
}

std::optional<int64_t> read_int64_attribute(hid_t object, const char* name,
                                            const std::string& where) {
  const htri_t exists = H5Aexists(object, name);
  H5Eclear2(H5E_DEFAULT);
  if (exists <= 0) return std::nullopt;
  Id attr(
      KD_H5(H5Aopen(object, name, H5P_DEFAULT), "'{}': cannot open attribute '{}'", where, name));
  Id space(KD_H5(H5Aget_space(attr), "'{}': attribute '{}'", where, name));
  KD_CHECK(H5Sget_simple_extent_npoints(space) == 1, "'{}': attribute '{}' is not a scalar", where,
           name);
  int64_t value = 0;
  KD_H5(H5Aread(attr, H5T_NATIVE_INT64, &value), "'{}': cannot read attribute '{}' as an integer",
        where, name);
  return value;
}

}  // namespace kd::data::h5
