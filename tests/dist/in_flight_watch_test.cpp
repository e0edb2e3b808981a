// The policy that watches NCCL's collectives from the watchdog thread (in_flight_watch.h), with
// CPU stand-ins for the CUDA events, and the watchdog's check registry.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "dist/collective_watchdog.h"
#include "dist/in_flight_watch.h"

namespace kd::dist {
namespace {

using Clock = InFlightWatch::Clock;
using std::chrono::seconds;

struct FakeLaunch {
  std::shared_ptr<bool> done = std::make_shared<bool>(false);
  std::shared_ptr<int> released = std::make_shared<int>(0);
  InFlightWatch::Probe probe() const {
    auto d = done;
    auto r = released;
    return {[d] { return *d; }, [r] { ++*r; }};
  }
};

TEST(InFlightWatch, WarnsPastTheStallThresholdAndFailsPastTheDeadline) {
  InFlightWatch watch;
  const auto t0 = Clock::now();
  FakeLaunch a, b;
  watchdog_set_step(7);
  watch.add("NCCL all-reduce", a.probe(), t0);
  watch.add("NCCL broadcast", b.probe(), t0 + seconds(5));
  watchdog_set_step(-1);
  const WatchdogOptions options{10, 30};
  EXPECT_EQ(watch.check(options, "rank 1", t0 + seconds(9)), "");
  EXPECT_EQ(watch.warnings(), 0);
  EXPECT_EQ(watch.check(options, "rank 1", t0 + seconds(10)), "");
  EXPECT_EQ(watch.check(options, "rank 1", t0 + seconds(15)), "");
  EXPECT_EQ(watch.warnings(), 1);  // once per threshold passed, not every tick
  EXPECT_EQ(watch.check(options, "rank 1", t0 + seconds(21)), "");
  EXPECT_EQ(watch.warnings(), 2);
  const std::string failure = watch.check(options, "rank 1", t0 + seconds(30));
  EXPECT_NE(failure.find("NCCL all-reduce (collective 1 of its communicator, launched at step 7) "
                         "on rank 1 has not completed after 30 s"),
            std::string::npos)
      << failure;
  EXPECT_NE(failure.find("dist.timeout_s = 30"), std::string::npos) << failure;

  // The oldest finishes: the next one is judged by its own age, and its warnings start afresh.
  *a.done = true;
  EXPECT_EQ(watch.check(options, "rank 1", t0 + seconds(30)), "");
  EXPECT_EQ(*a.released, 1);
  EXPECT_EQ(watch.pending(), 1u);
  EXPECT_EQ(watch.warnings(), 3);  // the broadcast, 25 s old
  EXPECT_NE(watch.check(options, "rank 1", t0 + seconds(35)).find("NCCL broadcast"),
            std::string::npos);
  *b.done = true;
  EXPECT_EQ(watch.pending(), 0u);
  EXPECT_EQ(*b.released, 1);
}

TEST(InFlightWatch, OnlyFinishedLaunchesAreDroppedInOrderAndTheRestReleasedAtTheEnd) {
  FakeLaunch a, b, c;
  {
    InFlightWatch watch;
    watch.add("first", a.probe());
    watch.add("second", b.probe());
    *b.done = true;  // finished, but behind an unfinished one: kept (one stream, in order)
    watch.add("third", c.probe());
    EXPECT_EQ(watch.pending(), 3u);
    EXPECT_EQ(*b.released, 0);
    *a.done = true;
    EXPECT_EQ(watch.pending(), 1u);
    EXPECT_EQ(*a.released + *b.released, 2);
    // A deadline of 0 means none; a stall threshold of 0 means no warnings.
    EXPECT_EQ(watch.check({0, 0}, "rank 0", Clock::now() + seconds(100000)), "");
    EXPECT_EQ(watch.warnings(), 0);
  }
  EXPECT_EQ(*c.released, 1);  // still in flight when the watch ended
}

TEST(WatchdogChecks, FirstFailureIsReportedAndRemovedChecksNoLongerRun) {
  std::atomic<int> calls{0};
  const int ok = add_watchdog_check([&](const WatchdogOptions&) {
    ++calls;
    return std::string();
  });
  const int failing = add_watchdog_check([&](const WatchdogOptions& o) {
    ++calls;
    return "failed with timeout " + std::to_string(static_cast<int>(o.timeout_s));
  });
  EXPECT_EQ(run_watchdog_checks({1, 42}), "failed with timeout 42");
  EXPECT_EQ(calls.load(), 2);
  remove_watchdog_check(failing);
  EXPECT_EQ(run_watchdog_checks({1, 42}), "");
  EXPECT_EQ(calls.load(), 3);
  remove_watchdog_check(ok);
  EXPECT_EQ(run_watchdog_checks({1, 42}), "");
  EXPECT_EQ(calls.load(), 3);
}

}  // namespace
}  // namespace kd::dist
