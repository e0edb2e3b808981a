#include "common/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

namespace kd {
namespace {
std::atomic<int> g_signal{0};
char g_identity[256] = "kdprune";
thread_local char g_context[200] = "";
std::atomic<int64_t> g_step{-1};

extern "C" void on_stop_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    // The second one: the default action, now.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

// Async-signal-safe line building: appends to a fixed buffer (no allocation), written with one
// write(2) so that the launcher does not interleave it with other ranks' output.
struct Line {
  char text[512];
  size_t size = 0;
  void put(const char* s) {
    while (*s != '\0' && size + 1 < sizeof(text)) text[size++] = *s++;
  }
  void put_int(int64_t v) {
    char digits[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (v < 0) put("-");
    char one[2] = {0, 0};
    while (n > 0) {
      one[0] = digits[--n];
      put(one);
    }
  }
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV (invalid memory access)";
    case SIGBUS:
      return "SIGBUS (bus error: a truncated memory-mapped file?)";
    case SIGFPE:
      return "SIGFPE (arithmetic error)";
    case SIGILL:
      return "SIGILL (illegal instruction: built for another CPU?)";
    case SIGABRT:
      return "SIGABRT (abort)";
    default:
      return "a fatal signal";
  }
}

extern "C" void on_fatal_signal(int sig) {
  Line line;
  line.put("kdprune: FATAL [");
  line.put(g_identity);
  line.put("]: received ");
  line.put(signal_name(sig));
  const int64_t step = g_step.load();
  if (step >= 0) {
    line.put(" at training step ");
    line.put_int(step);
  }
  if (g_context[0] != '\0') {
    line.put(" while ");
    line.put(g_context);
  }
  line.put("\n");
  ssize_t ignored = ::write(2, line.text, line.size);
  (void)ignored;
  // SA_RESETHAND restored the default action: re-raise so that the exit status says which signal
  // (and a core is dumped where enabled).
  std::raise(sig);
}
}  // namespace

void install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() {
  return g_signal.load() != 0;
}
int stop_signal() {
  return g_signal.load();
}

void install_fatal_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

void set_crash_identity(const std::string& where) {
  std::snprintf(g_identity, sizeof(g_identity), "%s", where.c_str());
}

void set_crash_step(int64_t step) {
  g_step.store(step);
}

CrashContext::CrashContext(const std::string& what) : previous_(g_context) {
  std::snprintf(g_context, sizeof(g_context), "%s", what.c_str());
}

CrashContext::~CrashContext() {
  std::snprintf(g_context, sizeof(g_context), "%s", previous_.c_str());
}

}  // namespace kd
