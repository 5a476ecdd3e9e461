// What the dist/ tests share: the process's communicator, gradient terms
// whose sums show their association in their bits, a fake backward that
// adds them, the store's gradients or values as one vector, and a bit
// comparison.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "engine/rng.hpp"
#include "engine/runners.hpp"

namespace attograd::testing {

// One communicator for the process: MPI can be initialized only once.
inline Communicator& world() {
  static const auto comm = make_communicator();
  return *comm;
}

// Element i of rank/micro-batch `k`'s vector: magnitudes over 12 decades
// with random signs (so the association of a sum shows in its bits), and
// exact +0 / -0 / denormals at some positions.
inline float term(std::int64_t k, std::int64_t i) {
  const std::uint64_t h = mix_keys(static_cast<std::uint64_t>(k) * 7919 + 17, static_cast<std::uint64_t>(i));
  switch (h % 11) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return std::numeric_limits<float>::denorm_min() * static_cast<float>(h % 1000);
    default: break;
  }
  const double sign = (h >> 8) % 2 ? 1.0 : -1.0;
  return static_cast<float>(sign * std::ldexp(1.0 + static_cast<double>((h >> 16) % 1000) / 1000.0,
                                              static_cast<int>((h >> 32) % 40) - 20));
}

// Every parameter's gradient (values), one after the other in store order.
inline std::vector<float> grads(const ParameterStore& store) {
  std::vector<float> out;
  for (const Parameter& p : store.all())
    for (float g : p.grad.span<float>()) out.push_back(g);
  return out;
}
inline std::vector<float> values(const ParameterStore& store) {
  std::vector<float> out;
  for (const Parameter& p : store.all())
    for (float v : p.value.span<float>()) out.push_back(v);
  return out;
}

inline bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// "Backward" of micro-batch k: adds k's terms into every gradient, as
// ParameterOp does (a[i] += d[i], flush-to-zero on).
inline MicroBatchResult fake_backward(ParameterStore& store, std::int64_t k) {
  FlushDenormals fp;
  std::int64_t at = 0;
  for (Parameter& p : store.all())
    for (float& g : p.grad.span<float>()) g += term(k, at++);
  return {1.0 / static_cast<double>(k + 3), k + 1};
}

}  // namespace attograd::testing
