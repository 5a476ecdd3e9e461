#include "dist/flat_layout.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "train/optimizer.hpp"

namespace attograd {

FlatLayout flat_layout(ParameterStore& store, int ranks) {
  FlatLayout layout;
  std::vector<std::int64_t> block_starts;  // every block boundary of the flat vector, ascending
  for (Parameter& p : store.all()) {
    if (!p.trainable) continue;
    if (p.value.dtype() != DType::f32 || p.grad.dtype() != DType::f32 || p.grad.numel() != p.value.numel())
      throw Error(fmt::format("[dist] parameter '{}' needs f32 values and an f32 gradient of its size to be trained "
                              "on several ranks", p.name));
    for (std::int64_t b = 0; b < p.value.numel(); b += kOptimizerBlock) block_starts.push_back(layout.size() + b);
    layout.params.push_back(&p);
    layout.offsets.push_back(layout.size() + p.value.numel());
  }
  block_starts.push_back(layout.size());
  const std::int64_t n = layout.size();
  for (std::int64_t s = 0; s <= ranks; ++s)
    layout.shards.push_back(*std::lower_bound(block_starts.begin(), block_starts.end(), n * s / ranks));
  return layout;
}

void pack_grads(const FlatLayout& layout, std::span<float> flat) {
  for (std::size_t i = 0; i < layout.params.size(); ++i)
    std::memcpy(flat.data() + layout.offsets[i], layout.params[i]->grad.raw(), layout.params[i]->grad.nbytes());
}

void unpack_grads(const FlatLayout& layout, std::span<const float> flat) {
  for (std::size_t i = 0; i < layout.params.size(); ++i)
    std::memcpy(layout.params[i]->grad.raw(), flat.data() + layout.offsets[i], layout.params[i]->grad.nbytes());
}

void unpack_values(const FlatLayout& layout, std::span<const float> flat) {
  for (std::size_t i = 0; i < layout.params.size(); ++i)
    std::memcpy(layout.params[i]->value.raw(), flat.data() + layout.offsets[i], layout.params[i]->value.nbytes());
}

}  // namespace attograd
