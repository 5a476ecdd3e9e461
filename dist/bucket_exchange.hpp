// The ordered reduce-scatter of one micro-batch's gradients, cut into
// buckets and overlapped with backward (DataParallelOptions::bucket_bytes).
//
// Buckets: whole parameters, in reverse creation order (backward finishes
// the last layers first), about bucket_bytes each (a larger parameter is a
// bucket of its own). Bucket b is a slice [lo, hi) of the flat vector
// (dist/flat_layout.hpp); the shards stay as they are, so a bucket may lie
// across shard boundaries:
//
//   flat     [ p_0 | p_1 | p_2 | p_3 | p_4 ]
//   buckets        |  2  |     1     |  0  |        (bucket 0 = the last parameters)
//   shards   [   shard 0     |    shard 1     ]
//
// Once every parameter of bucket b is final, a communication thread copies
// its gradients into the flat vector and starts its exchange
// (Communicator::start_scatter_to_owners: rank s gets b ∩ shard s); when it
// completes, the thread adds the N received pieces of b ∩ shard r onto the
// shard sum in rank order. Every element lies in one bucket and still gets
// its N terms added in rank order, round after round, so the bits are those
// of the whole exchange (and of one process).
//
// Buckets start in bucket order on every rank, whatever order their
// parameters become final in: MPI matches collectives by their order.
// The thread keeps them moving (MPI_Test, then a short sleep) while
// backward runs, and waits on them once it is over.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/flat_layout.hpp"

namespace attograd {

struct Bucket {
  std::size_t first_param = 0, end_param = 0;  // layout.params[first_param, end_param)
  std::int64_t lo = 0, hi = 0;                 // its slice of the flat vector
};

// The buckets of `layout`, bucket 0 holding the last parameters. Every
// parameter is in exactly one; bucket_bytes < 1 is taken as 1 (a bucket
// per parameter).
std::vector<Bucket> make_buckets(const FlatLayout& layout, std::int64_t bucket_bytes);

// Where a round's exchange time went, on this rank (seconds).
struct RoundTimes {
  double overlapped = 0;      // a bucket was in flight while backward still ran
  double after_backward = 0;  // waiting, once backward was over, for the last buckets and their adds
};

class BucketExchange {
 public:
  // `flat` is the caller's send buffer of layout.size() floats, kept alive
  // meanwhile. Needs comm.allows_other_threads().
  BucketExchange(Communicator& comm, const FlatLayout& layout, std::int64_t bucket_bytes, std::span<float> flat);
  ~BucketExchange();  // joins the thread (after the round, if one is open)
  BucketExchange(const BucketExchange&) = delete;
  BucketExchange& operator=(const BucketExchange&) = delete;

  std::size_t bucket_count() const { return buckets_.size(); }

  // The caller's thread: a micro-batch's round opens (its gradients were
  // zeroed; the pieces will be added onto `shard_sum`, this rank's shard of
  // layout.shards, untouched by the caller until the round closes) and,
  // after its backward (or its failure), closes: every parameter not yet
  // final is, every bucket is exchanged (also those of a rank that failed:
  // the others wait for them) and added. close_round() rethrows an error of
  // the communication thread.
  void open_round(std::span<float> shard_sum);
  RoundTimes close_round();

  // A backward pass of the round begins (the caller's thread). Throws Error
  // on the second: a parameter's gradient is final after one pass.
  void backward_begins();
  // Any thread: parameter layout.params[param] has its final gradient for
  // this round. Ignored outside a round and when repeated.
  void parameter_final(std::size_t param);

 private:
  using Clock = std::chrono::steady_clock;
  struct InFlight;

  void serve();                        // the communication thread
  void exchange_round();               // one round's buckets, in order
  void wait_until_final(std::size_t b, InFlight& flight);
  void pack(const Bucket& b);          // gradients -> flat_[lo, hi)
  bool finish_next(InFlight& flight, bool block);  // the oldest bucket in flight: complete? then add it
  bool backward_over();

  Communicator& comm_;
  const FlatLayout& layout_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;       // per parameter
  std::vector<std::int64_t> mine_lo_;        // per bucket: where b ∩ my shard starts (m = its length)
  std::vector<std::int64_t> mine_size_;
  std::span<float> flat_;
  std::span<float> shard_sum_;               // this round's
  std::vector<float> pieces_;                // N pieces of b ∩ my shard, bucket after bucket

  std::mutex mutex_;
  std::condition_variable wake_;             // the thread: a bucket got final, a round opened or closed, stop
  std::condition_variable done_;             // the caller: the round's exchange is over
  bool round_open_ = false, round_started_ = false, round_done_ = true, all_final_ = false, stop_ = false;
  bool backward_seen_ = false;
  std::vector<char> final_;                  // per parameter
  std::vector<std::size_t> waiting_;         // per bucket: parameters not final yet
  std::exception_ptr error_;
  Clock::time_point backward_end_;
  double busy_before_end_ = 0;               // seconds with a bucket in flight, before backward_end_
  std::vector<std::pair<Clock::time_point, Clock::time_point>> busy_;  // intervals with a bucket in flight
  std::thread thread_;
};

}  // namespace attograd
