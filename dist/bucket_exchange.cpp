#include "dist/bucket_exchange.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/error.hpp"
#include "engine/runners.hpp"

namespace attograd {
namespace {

// How often the communication thread calls MPI_Test while backward runs:
// often enough to keep a shared-memory or TCP transfer streaming, seldom
// enough to leave the cores to backward.
constexpr auto kPoll = std::chrono::microseconds(200);

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::vector<Bucket> make_buckets(const FlatLayout& layout, std::int64_t bucket_bytes) {
  const std::int64_t limit = std::max<std::int64_t>(bucket_bytes, 1);
  std::vector<Bucket> buckets;
  std::size_t end = layout.params.size();
  while (end > 0) {
    std::size_t first = end - 1;  // at least one parameter
    while (first > 0 && (layout.offsets[end] - layout.offsets[first - 1]) * 4 <= limit) --first;
    buckets.push_back({first, end, layout.offsets[first], layout.offsets[end]});
    end = first;
  }
  return buckets;
}

// The buckets started this round and not yet added; started in bucket order,
// finished (completed and added) in the same order.
struct BucketExchange::InFlight {
  std::vector<std::unique_ptr<PendingExchange>> started;
  std::size_t finished = 0;
  Clock::time_point busy_since;  // when the current stretch with a bucket in flight began
};

BucketExchange::BucketExchange(Communicator& comm, const FlatLayout& layout, std::int64_t bucket_bytes,
                               std::span<float> flat)
    : comm_(comm), layout_(layout), buckets_(make_buckets(layout, bucket_bytes)), flat_(flat) {
  if (!comm.allows_other_threads())
    throw Error("[dist] the overlapped exchange needs MPI_THREAD_SERIALIZED (its own thread calls MPI)");
  const auto r = static_cast<std::size_t>(comm.rank());
  const std::int64_t shard_lo = layout.shards[r], shard_hi = layout.shards[r + 1];
  bucket_of_.resize(layout.params.size());
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    const Bucket& bucket = buckets_[b];
    for (std::size_t i = bucket.first_param; i < bucket.end_param; ++i) bucket_of_[i] = b;
    const std::int64_t m = overlap_length(bucket.lo, bucket.hi, shard_lo, shard_hi);
    mine_lo_.push_back(m > 0 ? std::max(bucket.lo, shard_lo) : shard_lo);
    mine_size_.push_back(m);
  }
  pieces_.resize(static_cast<std::size_t>(shard_hi - shard_lo) * static_cast<std::size_t>(comm.size()));
  final_.resize(layout.params.size());
  waiting_.resize(buckets_.size());
  thread_ = std::thread([this] { serve(); });
}

BucketExchange::~BucketExchange() {
  if (round_open_) {
    try {
      close_round();
    } catch (...) {  // the round's error was the caller's to see; nothing to report from a destructor
    }
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void BucketExchange::open_round(std::span<float> shard_sum) {
  std::lock_guard lock(mutex_);
  if (round_open_ || !round_done_) throw Error("[dist] BucketExchange: a round is already open");
  const auto r = static_cast<std::size_t>(comm_.rank());
  if (static_cast<std::int64_t>(shard_sum.size()) != layout_.shards[r + 1] - layout_.shards[r])
    throw Error("[dist] BucketExchange: the shard sum has the wrong size");
  shard_sum_ = shard_sum;
  std::fill(final_.begin(), final_.end(), 0);
  for (std::size_t b = 0; b < buckets_.size(); ++b) waiting_[b] = buckets_[b].end_param - buckets_[b].first_param;
  all_final_ = backward_seen_ = false;
  round_open_ = round_started_ = true;
  round_done_ = false;
  error_ = nullptr;
  busy_.clear();
  wake_.notify_all();
}

RoundTimes BucketExchange::close_round() {
  std::unique_lock lock(mutex_);
  if (!round_open_) throw Error("[dist] BucketExchange: no round to close");
  round_open_ = false;
  all_final_ = true;  // unused parameters, and everything of a failed micro-batch: send what there is
  backward_end_ = Clock::now();
  wake_.notify_all();
  done_.wait(lock, [&] { return round_done_; });
  RoundTimes t;
  t.after_backward = seconds(Clock::now() - backward_end_);
  for (const auto& [start, end] : busy_) t.overlapped += seconds(std::max(std::min(end, backward_end_) - start, Clock::duration::zero()));
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return t;
}

void BucketExchange::backward_begins() {
  std::lock_guard lock(mutex_);
  if (!round_open_) return;
  if (backward_seen_)
    throw Error("[dist] a second backward pass in one micro-batch with DataParallel::gradient_observer(): a "
                "parameter's gradient is sent once its first pass is over (pass the observer to the last pass only, "
                "or set DataParallelOptions::bucket_bytes = 0)");
  backward_seen_ = true;
}

void BucketExchange::parameter_final(std::size_t param) {
  std::lock_guard lock(mutex_);
  if (!round_open_ || all_final_ || final_[param]) return;
  final_[param] = 1;
  if (--waiting_[bucket_of_[param]] == 0) wake_.notify_all();
}

void BucketExchange::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || round_started_; });
    if (stop_) return;
    round_started_ = false;
    lock.unlock();
    std::exception_ptr error;
    try {
      exchange_round();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    round_done_ = true;
    done_.notify_all();
  }
}

void BucketExchange::exchange_round() {
  InFlight flight;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    wait_until_final(b, flight);
    pack(buckets_[b]);
    const auto n = static_cast<std::size_t>(comm_.size());
    const auto shard_lo = layout_.shards[static_cast<std::size_t>(comm_.rank())];
    const std::span<float> pieces(pieces_.data() + n * static_cast<std::size_t>(mine_lo_[b] - shard_lo),
                                  n * static_cast<std::size_t>(mine_size_[b]));
    if (flight.finished == flight.started.size()) flight.busy_since = Clock::now();
    flight.started.push_back(comm_.start_scatter_to_owners(flat_, buckets_[b].lo, buckets_[b].hi, pieces, layout_.shards));
    while (finish_next(flight, false)) {
    }
  }
  while (flight.finished < flight.started.size()) {
    const bool over = backward_over();  // then nothing else wants the cores: wait in MPI
    if (finish_next(flight, over) || over) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kPoll, [&] { return all_final_; });
  }
}

void BucketExchange::wait_until_final(std::size_t b, InFlight& flight) {
  std::unique_lock lock(mutex_);
  while (waiting_[b] != 0 && !all_final_) {
    if (flight.finished == flight.started.size()) {
      wake_.wait(lock);  // nothing in flight: sleep until a parameter gets final
      continue;
    }
    lock.unlock();
    while (finish_next(flight, false)) {
    }
    lock.lock();
    if (waiting_[b] != 0 && !all_final_) wake_.wait_for(lock, kPoll);
  }
}

void BucketExchange::pack(const Bucket& b) {
  for (std::size_t i = b.first_param; i < b.end_param; ++i)
    std::memcpy(flat_.data() + layout_.offsets[i], layout_.params[i]->grad.raw(), layout_.params[i]->grad.nbytes());
}

// The oldest bucket in flight, if complete (or once complete, when `block`):
// its N pieces of b ∩ my shard added onto the shard sum in rank order,
//   mine[i] = ((mine[i] + piece_0[i]) + piece_1[i]) + ... + piece_{N-1}[i]
// serially on this thread, with flush-to-zero as add_in_order.
bool BucketExchange::finish_next(InFlight& flight, bool block) {
  if (flight.finished == flight.started.size()) return false;
  PendingExchange& x = *flight.started[flight.finished];
  if (block) {
    x.wait();
  } else if (!x.test()) {
    return false;
  }
  const std::size_t b = flight.finished;
  const auto n = static_cast<std::int64_t>(comm_.size()), m = mine_size_[b];
  const std::int64_t at = mine_lo_[b] - layout_.shards[static_cast<std::size_t>(comm_.rank())];
  float* mine = shard_sum_.data() + at;
  const float* pieces = pieces_.data() + n * at;
  {
    FlushDenormals fp;
    for (std::int64_t s = 0; s < n; ++s)
      for (std::int64_t i = 0; i < m; ++i) mine[i] += pieces[s * m + i];
  }
  flight.started[b].reset();
  ++flight.finished;
  if (flight.finished == flight.started.size()) busy_.emplace_back(flight.busy_since, Clock::now());
  return true;
}

bool BucketExchange::backward_over() {
  std::lock_guard lock(mutex_);
  return all_final_;
}

}  // namespace attograd
