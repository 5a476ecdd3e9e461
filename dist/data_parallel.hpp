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
//   scale_grads(store, 1.0 / K); clip_grad_norm(...); optimizer.step(...);
//
// With one process this is exactly today's loop: zero_grad once, backward
// adds into the store, no copies. Gradients must be f32 when N > 1.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dist/communicator.hpp"
#include "engine/parameters.hpp"

namespace attograd {

struct MicroBatchResult {
  double loss = 0;          // the micro-batch's mean loss
  std::int64_t tokens = 0;  // target tokens it had
};

struct StepTotals {
  double loss = 0;  // sum over k of loss_k / K, in k order
  std::int64_t tokens = 0;
};

class DataParallel {
 public:
  DataParallel(Communicator& comm, ParameterStore& store);

  Communicator& communicator() { return comm_; }
  ParameterStore& store() { return store_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }

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
  // AgreedError (dist/guard.hpp) before any gradient is exchanged.
  void run(std::int64_t k, const std::function<MicroBatchResult()>& forward_backward);
  // Leaves the step's summed gradient G in every trainable parameter's grad
  // and returns the step's loss and tokens, the same on every rank.
  StepTotals end_step();

 private:
  bool layout();  // the flat gradient's offsets and the ranks' shards; true if they changed
  void pack();
  void unpack();

  Communicator& comm_;
  ParameterStore& store_;
  std::int64_t accumulate_ = 1;
  std::vector<MicroBatchResult> results_;  // this rank's, in its k order
  std::vector<Parameter*> params_;         // trainable, store order
  std::vector<std::int64_t> offsets_;      // parameter i at [offsets_[i], offsets_[i+1]) of flat_
  std::vector<std::int64_t> shards_;       // rank s owns [shards_[s], shards_[s+1])
  std::vector<float> flat_, shard_sum_;
};

}  // namespace attograd
