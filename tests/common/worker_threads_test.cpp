#include "common/worker_threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/check.h"

namespace kd {
namespace {

TEST(WorkerThreads, RunsEveryWorkerOnceAndCallsTickWhileTheyRun) {
  std::atomic<unsigned> mask{0};
  std::atomic<int> ticks{0};
  run_workers(
      4,
      [&](unsigned t) {
        mask |= 1u << t;
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
      },
      [&] { ++ticks; }, 10);
  EXPECT_EQ(mask.load(), 0xFu);
  EXPECT_GE(ticks.load(), 1);
}

TEST(WorkerThreads, AWorkersExceptionIsRethrownAfterAllJoined) {
  std::atomic<int> finished{0};
  auto run = [&] {
    run_workers(3, [&](unsigned t) {
      if (t == 1) KD_FAIL("worker {} failed", t);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      ++finished;
    });
  };
  try {
    run();
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("worker 1 failed"), std::string::npos);
  }
  EXPECT_EQ(finished.load(), 2);  // the others ran to the end before the rethrow
}

TEST(WorkerThreads, AFailingWorkerDoesNotStopTheTickLoopFromEnding) {
  // With a tick, the wait must end when workers end, whatever state they left.
  EXPECT_THROW(run_workers(
                   2, [](unsigned) { throw std::runtime_error("x"); }, [] {}, 5),
               std::runtime_error);
}

}  // namespace
}  // namespace kd
