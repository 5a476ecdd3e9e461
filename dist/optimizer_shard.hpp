// ZeRO stage 1: the optimizer state of one rank's shard of the flat
// parameters (dist/flat_layout.hpp), and the update of that shard alone.
//
// The shard is kept as a store of pieces: piece i stands for elements
// [begin_i, end_i) of the i-th trainable parameter the shard overlaps. It
// owns their optimizer state; during an update its value is an alias of
// those elements of the parameter and its gradient an alias of the shard's
// summed gradient (Tensor::alias: no copies). begin_i is a block boundary,
// so the optimizer, scale_grads and grad_block_sums see the same blocks
// there as in the whole store, and every element's update is the one
// process's (all three are elementwise; the norm is not, and is assembled
// from every rank's block sums in block order). Memory per rank: the
// optimizer state of ~1/N of the elements, nothing else.
//
// Used through DataParallel (dist/data_parallel.hpp) with shard_optimizer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/flat_layout.hpp"
#include "engine/parameters.hpp"
#include "train/optimizer.hpp"

namespace attograd {

// What follows the micro-batches of a step, as one process runs it:
//   if (grad_scale != 1) scale_grads(store, grad_scale);  // 1/K: the mean over micro-batches
//   if (clip > 0) clip_grad_norm(store, clip);
//   optimizer.step(store, lr);
struct UpdateOptions {
  double lr = 0;
  double grad_scale = 1;
  double clip = 0;
};

class OptimizerShard {
 public:
  OptimizerShard(const FlatLayout& layout, int rank);

  // Moves this rank's part of the optimizer state that the layout's
  // parameters hold (a resumed checkpoint's, a gathered one) into the shard
  // and frees theirs. Nothing to do when they hold none.
  void take_state(const FlatLayout& layout);

  // The update of this rank's shard (a collective when clipping). `shard`
  // holds the shard of the step's summed gradient (f32, the shard's size);
  // it is scaled and clipped in place, the layout's parameters get their
  // shard's elements updated in place, and `shard` then receives those
  // updated values, in flat order, for the all-gather. Returns the global
  // gradient norm before clipping (0 without clipping).
  double update(Communicator& comm, Optimizer& optimizer, Tensor& shard, const UpdateOptions& options);

  // A collective: rank 0's layout parameters receive the full state of
  // every slot the optimizer keeps, as one process holds it (none before
  // the first update of a run that had none); `scratch` is n floats on
  // rank 0, unused elsewhere.
  void gather_state(Communicator& comm, const FlatLayout& layout, const Optimizer& optimizer, std::span<float> scratch);

  // Bytes of optimizer state this rank holds.
  std::int64_t state_bytes() const;
  // Whether the optimizer has state yet: the same answer on every rank
  // (state_bytes() is 0 on a rank whose shard is empty).
  bool has_state() const { return has_state_; }

 private:
  struct Piece {
    Parameter* whole;
    std::int64_t begin, end;  // elements of `whole`
    std::int64_t at;          // where they start in the shard
  };
  ParameterStore pieces_;     // one parameter per Piece, in flat order; value and grad are aliases during update()
  std::vector<Piece> where_;
  std::int64_t shard_size_ = 0;
  bool has_state_ = false;    // the same on every rank: set by taken or created state
};

}  // namespace attograd
