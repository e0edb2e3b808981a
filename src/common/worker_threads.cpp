#include "common/worker_threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kd {

void run_workers(unsigned threads, const std::function<void(unsigned)>& work,
                 const std::function<void()>& tick, int tick_ms) {
  std::mutex mu;
  std::condition_variable finished;
  unsigned running = threads;
  std::exception_ptr error;
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::exception_ptr mine;
      try {
        work(t);
      } catch (...) {
        mine = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu);
      if (mine && !error) error = mine;
      --running;
      finished.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    while (running > 0) {
      if (!tick) {
        finished.wait(lock, [&] { return running == 0; });
        break;
      }
      finished.wait_for(lock, std::chrono::milliseconds(tick_ms), [&] { return running == 0; });
      if (running == 0) break;
      lock.unlock();
      tick();
      lock.lock();
    }
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace kd
