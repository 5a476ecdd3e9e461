#include "engine/runners.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define ATTOGRAD_HAS_MXCSR 1
#endif

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_for_each.h>
#include <tbb/task_arena.h>

namespace attograd {

// --- floating-point mode ----------------------------------------------------

#ifdef ATTOGRAD_HAS_MXCSR
constexpr unsigned kFlushBits = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)
FlushDenormals::FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushBits); }
FlushDenormals::~FlushDenormals() { _mm_setcsr(saved_); }
#else
FlushDenormals::FlushDenormals() : saved_(0) {}
FlushDenormals::~FlushDenormals() = default;
#endif

void SerialParallel::parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const {
  if (n <= 0) return;
  if (grain <= 0) grain = n;
  for (std::int64_t begin = 0; begin < n; begin += grain) body(begin, std::min(n, begin + grain));
}

namespace {

// --- sequential: the oracle -------------------------------------------------

class SequentialRunner final : public TaskRunner {
 public:
  void run(const std::vector<NodeId>& initial, const NodeBody& body) override {
    FlushDenormals fp;
    std::deque<NodeId> ready(initial.begin(), initial.end());
    const Spawn spawn = [&](NodeId m) { ready.push_back(m); };
    while (!ready.empty()) {
      const NodeId n = ready.front();
      ready.pop_front();
      body(n, 0, spawn);
    }
  }
  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const override {
    serial_.parallel_for(n, grain, body);
  }

 private:
  SerialParallel serial_;
};

// --- oneTBB ---------------------------------------------------------------------

// Blocks as TBB tasks in the calling thread's arena.
class TbbParallel final : public Parallel {
 public:
  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const override {
    if (n <= 0) return;
    if (grain <= 0 || n <= grain) return body(0, n);
    const std::int64_t blocks = block_count(n, grain);
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(0, blocks, 1),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          for (std::int64_t k = r.begin(); k != r.end(); ++k) body(k * grain, std::min(n, (k + 1) * grain));
        },
        tbb::simple_partitioner());
  }
};

// Flush-to-zero in TBB: an arena captures the floating-point mode of the
// thread that initializes it, and TBB applies that mode to every task run in
// the arena, on any thread, restoring the thread's own mode afterwards
// (oneTBB guide, "Floating-point Settings"). So the arena is initialized
// inside FlushDenormals. (A task_scheduler_observer setting the mode on
// scheduler entry does not work: TBB resets the mode to the arena's captured
// one before each task. It also made LeakSanitizer report its proxy, which
// TBB frees only when the worker that last saw it exits.)
class TbbRunner final : public TaskRunner {
 public:
  explicit TbbRunner(int threads) : arena_(threads) {
    FlushDenormals fp;
    arena_.initialize();
  }

  void run(const std::vector<NodeId>& initial, const NodeBody& body) override {
    arena_.execute([&] {
      tbb::parallel_for_each(initial.begin(), initial.end(), [&](NodeId n, tbb::feeder<NodeId>& feeder) {
        const Spawn spawn = [&feeder](NodeId m) { feeder.add(m); };
        body(n, std::max(0, tbb::this_task_arena::current_thread_index()), spawn);
      });
    });
  }

  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const override {
    // Called from inside a node, hence inside the arena: nested parallelism
    // shares the arena's workers with inter-node scheduling.
    tbb_parallel().parallel_for(n, grain, body);
  }

 private:
  tbb::task_arena arena_;
};

// --- plain std::thread pool (for ThreadSanitizer) ----------------------------

class ThreadRunner final : public TaskRunner {
 public:
  explicit ThreadRunner(int threads) : threads_(threads) {}

  void run(const std::vector<NodeId>& initial, const NodeBody& body) override {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<NodeId> ready(initial.begin(), initial.end());
    int running = 0;
    std::exception_ptr error;

    const Spawn spawn = [&](NodeId m) {
      std::lock_guard lock(mutex);
      ready.push_back(m);
      wake.notify_one();
    };
    auto worker = [&](int slot) {
      FlushDenormals fp;
      std::unique_lock lock(mutex);
      for (;;) {
        wake.wait(lock, [&] { return error || !ready.empty() || running == 0; });
        if (error || ready.empty()) break;  // cancelled, or nothing running and nothing ready: done
        const NodeId n = ready.front();
        ready.pop_front();
        ++running;
        lock.unlock();
        try {
          body(n, slot, spawn);
        } catch (...) {
          std::lock_guard inner(mutex);
          if (!error) error = std::current_exception();
        }
        lock.lock();
        --running;
        wake.notify_all();
      }
      wake.notify_all();
    };

    std::vector<std::thread> pool;
    for (int i = 1; i < threads_; ++i) pool.emplace_back(worker, i);
    worker(0);
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
  }

  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const override {
    serial_.parallel_for(n, grain, body);
  }

 private:
  int threads_;
  SerialParallel serial_;
};

}  // namespace

const Parallel& tbb_parallel() {
  static const TbbParallel parallel;
  return parallel;
}

std::unique_ptr<TaskRunner> make_sequential_runner() { return std::make_unique<SequentialRunner>(); }
std::unique_ptr<TaskRunner> make_tbb_runner(int threads) { return std::make_unique<TbbRunner>(threads); }
std::unique_ptr<TaskRunner> make_thread_runner(int threads) { return std::make_unique<ThreadRunner>(threads); }

}  // namespace attograd
