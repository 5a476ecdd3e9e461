// Data-parallel training whose results are the bits of one process.
//
// An optimizer step of K micro-batches k = 0..K-1 in one process computes,
// per gradient element (engine: ParameterOp's backward adds into the store),
//   G = ((+0 + d_0) + d_1) + ... + d_{K-1}            a left fold, in float
// then the loss  L = ((0 + l_0/K) + l_1/K) + ... in double, k order.
// With N ranks (N divides K), rank r runs micro-batches k = j*N + r,
// j = 0..K/N-1. After round j the N ranks hold d_{jN}, ..., d_{jN+N-1}: the
// next N terms of the fold. So each round every rank zeroes its gradients,
// runs its micro-batch (its buffer is then +0 + d_k, which is d_k with -0
// turned into +0: what the fold adds), and the ordered reduce-scatter
// (Communicator::reduce_scatter_in_order) adds the N buffers in rank = k
// order onto the owner's shard of G. After the last round an all-gather
// gives every rank all of G; scaling, clipping and the optimizer then run
// unchanged on every rank, so every rank holds the same parameters. Adding
// a rank's own micro-batches locally first (DDP's no_sync) would change the
// association, and the bits, whenever a rank has more than one.
//
//   DataParallel dp(comm, store);
//   dp.begin_step(K);
//   for (std::int64_t k : dp.micro_batches())
//     dp.run(k, [&] { return forward_backward(step, k); });   // -> {loss, tokens}
//   const StepTotals t = dp.end_step();   // store's grads = G; t.loss = L
//   dp.update(optimizer, {.lr = lr, .grad_scale = 1.0 / K, .clip = 1.0});
//
// With one process this is exactly today's loop: zero_grad once, backward
// adds into the store, no copies. Parameters and gradients must be f32
// when N > 1.
//
// Overlap (N > 1, bucket_bytes > 0): each micro-batch's
// exchange is cut into buckets (dist/bucket_exchange.hpp) that start while
// its backward still runs, as soon as their gradients are final. For that,
// pass gradient_observer() in the RunOptions of the micro-batch's backward:
//
//     dp.run(k, [&] {
//       RunOptions run{.training = true, .observer = dp.gradient_observer(profiler)};
//       ex.forward(g, feeds, {loss.id}, run);
//       ex.backward(loss.id);
//       return MicroBatchResult{...};
//     });
//
// Same bits with or without it, and with any bucket size: without it the
// buckets start when forward_backward returns. The first round of a run (its
// parameters are made during the first forward) is exchanged after backward.
//
// With shard_optimizer (ZeRO stage 1, dist/optimizer_shard.hpp) and N > 1,
// end_step() leaves G in shards: rank r holds shard r of the flat
// parameters (cut on the optimizer's block boundaries) and the optimizer
// state of that shard alone; update() scales, clips (the global norm from
// every rank's block sums, in block order) and updates only that shard,
// and the all-gather carries the updated weights instead of G. Every rank
// then holds the one process's parameters, bit for bit; the store's
// gradients hold this rank's last micro-batch, not G, and its Parameter::
// state is empty: gather_optimizer_state() assembles it on rank 0 for a
// checkpoint (the same file as without sharding).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "dist/bucket_exchange.hpp"
#include "dist/communicator.hpp"
#include "dist/flat_layout.hpp"
#include "dist/gradient_observer.hpp"
#include "dist/optimizer_shard.hpp"
#include "engine/parameters.hpp"
#include "train/optimizer.hpp"

namespace attograd {

struct MicroBatchResult {
  double loss = 0;          // the micro-batch's mean loss
  std::int64_t tokens = 0;  // target tokens it had
};

struct StepTotals {
  double loss = 0;  // sum over k of loss_k / K, in k order
  std::int64_t tokens = 0;
};

struct DataParallelOptions {
  bool shard_optimizer = false;  // ZeRO stage 1: each rank keeps 1/N of the optimizer state
  // Bytes of gradient per bucket of the exchange overlapped with backward
  // (whole parameters; one larger than this is a bucket alone; 25 << 20 is
  // PyTorch DDP's); 0, the default: one exchange after backward, which was
  // faster on every host measured so far (bench/README.md). Must be the
  // same on every rank.
  std::int64_t bucket_bytes = 0;
};

// Where this rank's gradient exchange time went in a step (seconds; the
// final all-gather not included).
struct ExchangeTimes {
  double overlapped = 0;      // a bucket in flight while backward still ran
  double after_backward = 0;  // the exchange after backward: waiting for the last buckets, or all of it
};

class DataParallel {
 public:
  DataParallel(Communicator& comm, ParameterStore& store, DataParallelOptions options = {});

  Communicator& communicator() { return comm_; }
  ParameterStore& store() { return store_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  // True when the optimizer state is sharded: shard_optimizer and N > 1.
  bool shards_optimizer() const { return options_.shard_optimizer && size() > 1; }
  // True when run() overlaps the exchange with backward: N > 1,
  // bucket_bytes > 0, and the communicator lets a thread of its own call it
  // (MPI_THREAD_SERIALIZED; otherwise every exchange follows backward).
  bool overlaps() const { return size() > 1 && options_.bucket_bytes > 0 && comm_.allows_other_threads(); }

  // The observer for RunOptions::observer of the micro-batch's backward (see
  // above); its events go on to `next` (a profiler, or nullptr). It is
  // `next` itself when nothing overlaps. One backward pass per micro-batch
  // with it: a second throws.
  ExecutionObserver* gradient_observer(ExecutionObserver* next = nullptr);

  // Throws AgreedError unless the number of ranks divides `accumulate`
  // (every rank reaches the same verdict; rank 0 prints it).
  void check_accumulate(std::int64_t accumulate) const;
  // Starts a step of `accumulate` micro-batches (check_accumulate first).
  void begin_step(std::int64_t accumulate);
  // This rank's micro-batches of the step, in order: k = j*N + r.
  std::vector<std::int64_t> micro_batches() const;
  // Runs micro-batch k, the next of micro_batches() (with N > 1 anything
  // else throws Error): `forward_backward` adds its gradients into the
  // store. With N > 1 an exception on any rank reaches every rank as
  // AgreedError (dist/guard.hpp), after the buckets already under way were
  // completed (a failed rank sends what it has: the others wait for it) and
  // before anything else; the step's gradient is then garbage.
  void run(std::int64_t k, const std::function<MicroBatchResult()>& forward_backward);
  // Leaves the step's summed gradient G in every trainable parameter's grad
  // and returns the step's loss and tokens, the same on every rank.
  // (Sharded: only this rank's shard of G, kept inside.)
  StepTotals end_step();

  // The optimizer's update from G (after end_step), the same bits on every
  // rank as one process's scale_grads, clip_grad_norm and optimizer.step
  // (UpdateOptions). Returns the gradient norm before clipping (0 without).
  double update(Optimizer& optimizer, const UpdateOptions& options);

  // A collective, for saving: afterwards rank 0's store holds the whole
  // optimizer state in Parameter::state, as one unsharded process would
  // (the next update() takes it back into the shard). Nothing to do
  // unless shards_optimizer().
  void gather_optimizer_state(const Optimizer& optimizer);

  // Not a collective: moves whatever whole optimizer state this rank's
  // store holds (a resumed one, or rank 0's gathered one once it is saved)
  // into its shard, so the rank keeps only its 1/N. update() does it too;
  // calling it early only frees the memory sooner. Nothing to do unless
  // shards_optimizer().
  void shard_optimizer_state();

  // Bytes of optimizer state this rank holds (its shard's, or the store's).
  std::int64_t optimizer_state_bytes() const;

  // This step's exchange times on this rank, since begin_step (zero with one process).
  const ExchangeTimes& exchange_times() const { return times_; }

 private:
  bool layout();  // the flat layout of the trainable parameters; true if it changed
  void take_optimizer_state();  // sharded: the store's state (a resumed one) into the shard
  void forward_backward_overlapped(const std::function<MicroBatchResult()>& forward_backward);

  Communicator& comm_;
  ParameterStore& store_;
  DataParallelOptions options_;
  std::int64_t accumulate_ = 1;
  std::vector<MicroBatchResult> results_;  // this rank's, in its k order
  FlatLayout layout_;                      // rank s owns [layout_.shards[s], layout_.shards[s+1])
  std::vector<float> flat_;                // every rank's send buffer, and the all-gather's result
  Tensor shard_sum_;                       // f32, this rank's shard of G (sharded: then its updated values)
  std::unique_ptr<OptimizerShard> shard_;  // shards_optimizer(): this rank's state
  bool gradient_sharded_ = false;          // shards_optimizer(): end_step left G in shard_sum_
  ExchangeTimes times_;
  std::unique_ptr<BucketExchange> exchange_;     // overlaps(), once a layout is known: its thread and buckets
  std::unique_ptr<GradientObserver> observer_;   // made by gradient_observer()
};

}  // namespace attograd
