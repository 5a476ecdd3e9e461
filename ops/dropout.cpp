#include "ops/dropout.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/registry.hpp"
#include "engine/rng.hpp"
#include "ops/vec_math.hpp"

namespace attograd {
namespace {

// Elements per parallel block: a multiple of 4, so every Philox call (4 words,
// one per element) falls inside one block.
constexpr std::int64_t kGrain = 1 << 14;
// Elements whose Philox words are made at once (a multiple of 4 dividing kGrain).
constexpr std::int64_t kChunk = 1024;

// out[j] = in[j] * scale where words[j] >= threshold, else 0
// (float: SIMD lanes, ops/vec_math.hpp).
template <class T>
void keep_where(const std::uint32_t* words, std::uint32_t threshold, T scale, const T* in, T* out, std::int64_t m) {
  if constexpr (std::is_same_v<T, float>) {
    vec::keep_where(words, threshold, scale, in, out, m);
  } else {
    for (std::int64_t j = 0; j < m; ++j) out[j] = words[j] >= threshold ? in[j] * scale : T(0);
  }
}

// out[i] = in[i] * scale if element i is kept, else 0. Element i is kept when
// word i % 4 of philox(key, step, i / 4) is >= threshold = p * 2^32, which
// happens with probability 1 - p (to within 2^-32). Forward passes x as `in`,
// backward passes the output gradient: the same mask both times.
template <class T>
void apply_mask(const OpContext& c, const T* in, T* out, std::int64_t n, double p) {
  const std::uint64_t key = mix_keys(c.seed(), static_cast<std::uint64_t>(c.node_id()));
  const std::uint64_t step = c.step();
  const auto threshold = static_cast<std::uint32_t>(std::ldexp(p, 32));
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  c.parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
    std::uint32_t words[kChunk];  // one word per element of the chunk
    for (std::int64_t i = lo; i < hi; i += kChunk) {
      const std::int64_t m = std::min<std::int64_t>(kChunk, hi - i);
      philox_block(key, step, static_cast<std::uint64_t>(i / 4), (m + 3) / 4, words);
      keep_where(words, threshold, scale, in + i, out + i, m);
    }
  });
}

class DropoutOp final : public Op {
 public:
  explicit DropoutOp(double p) : p_(p) {
    if (!(p >= 0 && p < 1)) throw Error(fmt::format("[dropout] p must be in [0, 1), got {}", p));
  }
  std::string name() const override { return "dropout"; }
  std::string describe() const override { return fmt::format("p={}", p_); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[dropout] takes 1 input, got {}", in.size()));
    if (!is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[dropout] needs a floating input, got {}", to_string(in[0])));
    return in[0];
  }

  Tensor forward(OpContext& c) const override { return masked(c, c.input(0)); }
  std::vector<Tensor> backward(OpContext& c) const override { return {masked(c, c.grad_output())}; }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    return {3 * n, 3 * n, 2 * n * e, 2 * n * e};  // ~ Philox's 10 rounds over 4 elements
  }

 private:
  // The identity (the same tensor) unless a mask applies.
  Tensor masked(const OpContext& c, const Tensor& t) const {
    if (!c.training() || p_ == 0) return t;
    Tensor out = Tensor::empty(t.dtype(), t.shape());
    visit_floating(t.dtype(), [&]<class T>(T) { apply_mask<T>(c, t.data<T>(), out.data<T>(), t.numel(), p_); });
    return out;
  }

  double p_;
};

}  // namespace

Expr dropout(Expr x, double p) { return x.graph->add(std::make_shared<DropoutOp>(p), {x}); }

void register_dropout_ops(OpRegistry& r) {
  r.add({"dropout", "x * Bernoulli(1 - p) / (1 - p) in training, x in eval (attribute p)",
         [](const Attributes& a) -> OpPtr { return std::make_shared<DropoutOp>(a.get_double("dropout", "p")); }, {}});
}

}  // namespace attograd
