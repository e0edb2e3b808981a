#include "dist/comm_thread.h"

namespace kd::dist {

CommThread::CommThread() : thread_([this] { loop(); }) {}

CommThread::~CommThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::shared_ptr<CommThread::Ticket> CommThread::submit(std::function<void()> job) {
  auto ticket = std::make_shared<Ticket>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.emplace_back(std::move(job), ticket);
  }
  changed_.notify_all();
  return ticket;
}

bool CommThread::done(const Ticket& t) {
  std::lock_guard<std::mutex> lock(mutex_);
  return t.done;
}

void CommThread::wait(const Ticket& t) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return t.done; });
  if (t.error) std::rethrow_exception(t.error);
}

void CommThread::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return queue_.empty() && !running_job_; });
}

void CommThread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    auto [job, ticket] = std::move(queue_.front());
    queue_.pop_front();
    running_job_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    running_job_ = false;
    ticket->error = error;
    ticket->done = true;
    changed_.notify_all();
  }
}

}  // namespace kd::dist
