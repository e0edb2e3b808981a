// One background thread that runs submitted jobs in submission order: the MPI communicator's
// gradient buckets go here in dist.comm_thread mode, so a bucket's blocking MPI_Allreduce runs
// while backward goes on computing the next gradients on the main thread. Order is kept, so
// every rank issues the collectives in the same order. A job's exception is kept and rethrown by
// the waiting side.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace kd::dist {

class CommThread {
 public:
  // Completion of one submitted job.
  struct Ticket {
    bool done = false;
    std::exception_ptr error;
  };

  CommThread();
  ~CommThread();  // finishes the queued jobs, then joins
  CommThread(const CommThread&) = delete;
  CommThread& operator=(const CommThread&) = delete;

  std::shared_ptr<Ticket> submit(std::function<void()> job);
  bool done(const Ticket& t);
  void wait(const Ticket& t);  // rethrows the job's exception
  void drain();                // waits until every submitted job has run

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::function<void()>, std::shared_ptr<Ticket>>> queue_;
  bool running_job_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kd::dist
