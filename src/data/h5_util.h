// Checked HDF5 C API calls for the data layer. HDF5 prints its own error stack to stderr by default
// and returns negative ids/statuses; here every failing call becomes a kd::Error whose message
// says what we were doing (file, dataset) followed by the innermost HDF5 reasons.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/check.h"

namespace kd::data::h5 {

// Turns off HDF5's automatic error-stack printing for the calling thread. In the thread-safe
// build the error stack (and its auto-print setting) is per thread, so this runs once per thread.
void silence_errors();

// The most specific messages on the calling thread's HDF5 error stack ("truncated file: eof =
// ..."), joined by "; "; clears the stack. Empty if HDF5 recorded nothing.
std::string take_error_text();

// RAII owner of any HDF5 id (file, dataset, dataspace, datatype, property list).
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  ~Id() { reset(); }
  Id(Id&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: lets Id be passed straight to H5 calls
  bool valid() const { return id_ >= 0; }
  // Closes now and reports failure (e.g. a file close that must flush); reset() ignores it.
  herr_t close();
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

[[noreturn]] void fail_h5(const char* file, int line, const std::string& context);

// A scalar int64 attribute of an object (a file's root group): written, or read when present.
void write_int64_attribute(hid_t object, const char* name, int64_t value, const std::string& where);
std::optional<int64_t> read_int64_attribute(hid_t object, const char* name,
                                            const std::string& where);

}  // namespace kd::data::h5

// KD_H5(expr, "context fmt", args...): evaluates an HDF5 call returning hid_t/herr_t/htri_t and
// throws kd::Error("<context>: <HDF5 reasons>") if it is negative; yields the value otherwise.
#define KD_H5(expr, ...)                                                                          \
  ([&]() {                                                                                        \
    auto kd_h5_result_ = (expr);                                                                  \
    if (kd_h5_result_ < 0) ::kd::data::h5::fail_h5(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
    return kd_h5_result_;                                                                         \
  }())
