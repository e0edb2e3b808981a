// A fixed set of worker threads whose exceptions become the caller's: the first one thrown is
// rethrown after every worker has joined, never std::terminate (a worker thread's uncaught
// exception would otherwise end the process without the job's error message).
#pragma once
#include <functional>

namespace kd {

// Runs work(t) for t in [0, threads) on `threads` new threads and joins them. While they run the
// calling thread calls tick() about every tick_ms (progress reports), if one is given.
void run_workers(unsigned threads, const std::function<void(unsigned)>& work,
                 const std::function<void()>& tick = {}, int tick_ms = 100);

}  // namespace kd
