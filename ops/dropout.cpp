#include "ops/dropout.hpp"


#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/dropout_mask.hpp"

namespace attograd {
namespace {

using dropout_mask::apply_bits;

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
    // Keyed by the node's label (unique in its graph, e.g.
    // "decoder.layers.0.feed_forward.dropout"), not its id: adding a node
    // elsewhere in a builder leaves every other mask as it was.
    const std::uint64_t key = dropout_mask::key(c, c.label());
    visit_floating(x.dtype(), [&]<class T>(T) {
      dropout_mask::apply<T>(c, key, x.data<T>(), y.data<T>(), b, x.numel(), p_, [](std::int64_t, std::int64_t) {});
    });
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
