// Checked calls: every failure becomes a kd::Error naming file:line, rank and host, with an
// optional HINT line telling the user what to do.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace kd {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Process identity used in error messages; set once by the communicator factory.
void set_process_identity(int rank, int world);
int process_rank();
std::string process_where();  // "rank 1/2 on host"

[[noreturn]] void fail_at(const char* file, int line, const std::string& message,
                          const std::string& hint = "");

}  // namespace kd

// KD_CHECK(cond, "fmt {}", args...): throws kd::Error with the formatted message.
#define KD_CHECK(cond, ...)                                                   \
  do {                                                                        \
    if (!(cond)) ::kd::fail_at(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// KD_CHECK_HINT(cond, hint, "fmt {}", args...): as KD_CHECK with a HINT line.
#define KD_CHECK_HINT(cond, hint, ...)                                              \
  do {                                                                              \
    if (!(cond)) ::kd::fail_at(__FILE__, __LINE__, fmt::format(__VA_ARGS__), hint); \
  } while (0)

#define KD_FAIL(...) ::kd::fail_at(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
