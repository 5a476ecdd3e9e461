// The trainable parameters of a store as one flat f32 vector, and its cut
// into one shard per rank on the optimizer's block boundaries
// (kOptimizerBlock elements of one parameter, train/optimizer.hpp):
//
//   flat    = [ p_0 (n_0 floats) | p_1 (n_1) | ... ]   p_i at [offsets[i], offsets[i+1])
//   shard s = [shards[s], shards[s+1])   shards[s] = the first block boundary >= n*s/N
//
// so every shard holds whole blocks, the very blocks that updates, scaling
// and clipping's partial norms use in one process (a shard may be empty
// when there are fewer blocks than ranks).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/parameters.hpp"

namespace attograd {

struct FlatLayout {
  std::vector<Parameter*> params;         // trainable, store order
  std::vector<std::int64_t> offsets{0};   // params.size() + 1 entries
  std::vector<std::int64_t> shards;       // ranks + 1 entries, from 0 to size()

  std::int64_t size() const { return offsets.back(); }
  bool operator==(const FlatLayout&) const = default;
};

// The layout of `store`'s trainable parameters over `ranks` ranks. Throws
// Error unless every one has an f32 value and an f32 gradient of its size.
FlatLayout flat_layout(ParameterStore& store, int ranks);

// Every trainable parameter's gradient (values) copied into / out of `flat`.
void pack_grads(const FlatLayout& layout, std::span<float> flat);
void unpack_grads(const FlatLayout& layout, std::span<const float> flat);
void unpack_values(const FlatLayout& layout, std::span<const float> flat);

}  // namespace attograd
