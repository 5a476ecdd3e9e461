#include "ops/dropout.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "engine/rng.hpp"
#include "ops/vec_math.hpp"

namespace attograd {
namespace {

// Elements per parallel block: a multiple of 32, so every Philox call (4
// words, one per element) and every word of the kept bits falls inside one
// block.
constexpr std::int64_t kGrain = 1 << 14;
// Elements whose Philox words are made at once (a multiple of 32 dividing kGrain).
constexpr std::int64_t kChunk = 1024;

// out[j] = in[j] * scale where words[j] >= threshold, else 0, and the kept
// bits (float: SIMD lanes, ops/vec_math.hpp).
template <class T>
void keep_where(const std::uint32_t* words, std::uint32_t threshold, T scale, const T* in, T* out, std::int64_t m,
                std::uint32_t* bits) {
  if constexpr (std::is_same_v<T, float>) {
    vec::keep_where(words, threshold, scale, in, out, m, bits);
  } else {
    std::fill_n(bits, (m + 31) / 32, 0u);
    for (std::int64_t j = 0; j < m; ++j) {
      const bool keep = words[j] >= threshold;
      out[j] = keep ? in[j] * scale : T(0);
      bits[j / 32] |= static_cast<std::uint32_t>(keep) << (j % 32);
    }
  }
}

// out[i] = in[i] * scale where bit i of `bits` is set, else 0.
template <class T>
void keep_where_bits(const std::uint32_t* bits, T scale, const T* in, T* out, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    vec::keep_where_bits(bits, scale, in, out, n);
  } else {
    for (std::int64_t j = 0; j < n; ++j) out[j] = (bits[j / 32] >> (j % 32)) & 1u ? in[j] * scale : T(0);
  }
}

// y[i] = x[i] * scale if element i is kept, else 0. Element i is kept when
// word i % 4 of philox(key, step, i / 4) is >= threshold = p * 2^32, which
// happens with probability 1 - p (to within 2^-32). Bit i % 32 of
// bits[i / 32] records the decision, for backward.
template <class T>
void apply_mask(const OpContext& c, const T* x, T* y, std::uint32_t* bits, std::int64_t n, double p) {
  // Keyed by the node's label (unique in its graph, e.g.
  // "decoder.layers.0.norm1.dropout"), not its id: adding a node elsewhere
  // in a builder leaves every other mask as it was.
  const std::uint64_t key = mix_keys(c.seed(), hash_name(c.label()));
  const std::uint64_t step = c.step();
  const auto threshold = static_cast<std::uint32_t>(std::ldexp(p, 32));
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  c.parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
    std::uint32_t words[kChunk];  // one word per element of the chunk
    for (std::int64_t i = lo; i < hi; i += kChunk) {
      const std::int64_t m = std::min<std::int64_t>(kChunk, hi - i);
      philox_block(key, step, static_cast<std::uint64_t>(i / 4), (m + 3) / 4, words);
      keep_where(words, threshold, scale, x + i, y + i, m, bits + i / 32);
    }
  });
}

// dx = g * scale where forward kept the element.
template <class T>
void apply_bits(const OpContext& c, const std::uint32_t* bits, const T* g, T* dx, std::int64_t n, double p) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  c.parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
    keep_where_bits(bits + lo / 32, scale, g + lo, dx + lo, hi - lo);
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

  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    if (!c.training() || p_ == 0) return x;
    Tensor y = Tensor::empty(x.dtype(), x.shape());
    // One bit an element, kept for backward: 1/32 of a float tensor,
    // against ~1 ns an element to make the Philox words again.
    Tensor bits = Tensor::empty(DType::i32, {(x.numel() + 31) / 32});
    auto* b = reinterpret_cast<std::uint32_t*>(bits.data<std::int32_t>());
    visit_floating(x.dtype(), [&]<class T>(T) { apply_mask<T>(c, x.data<T>(), y.data<T>(), b, x.numel(), p_); });
    c.saved() = {bits};
    return y;
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    if (!c.training() || p_ == 0) return {g};
    if (c.saved().size() != 1)
      throw Error("[dropout] backward without the mask of its forward in training mode");
    const auto* b = reinterpret_cast<const std::uint32_t*>(c.saved()[0].data<std::int32_t>());
    Tensor dx = Tensor::empty(g.dtype(), g.shape());
    visit_floating(g.dtype(), [&]<class T>(T) { apply_bits<T>(c, b, g.data<T>(), dx.data<T>(), g.numel(), p_); });
    return {dx};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    // Forward: ~ Philox's 10 rounds over 4 elements; backward: a select.
    return {3 * n, n, 2 * n * e + n / 8, 2 * n * e + n / 8};
  }

 private:
  double p_;
};

}  // namespace

Expr dropout(Expr x, double p) { return x.graph->add(std::make_shared<DropoutOp>(p), {x}); }

void register_dropout_ops(OpRegistry& r) {
  using namespace samples;
  // Masks fixed by the seed in training; the identity in eval mode and for p = 0.
  r.add({"dropout", "x * Bernoulli(1 - p) / (1 - p) in training, x in eval (attribute p)",
         [](const Attributes& a) -> OpPtr { return std::make_shared<DropoutOp>(a.get_double("dropout", "p")); },
         {in_training(sample({uniform({5, 7})}, {{"p", 0.3}})), in_training(sample({uniform({2, 3, 4})}, {{"p", 0.5}})),
          in_training(sample({uniform({1})}, {{"p", 0.3}})), in_training(sample({uniform({2, 3})}, {{"p", 0.0}})),
          sample({uniform({2, 3})}, {{"p", 0.5}})},
         {shape_error({i32({2, 3})}, {{"p", 0.1}})}});
}

}  // namespace attograd
