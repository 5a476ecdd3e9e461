#include "ops/dropout_add.hpp"

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/dropout_mask.hpp"

namespace attograd {
namespace {

constexpr std::string_view kName = "dropout_add";

// The label whose mask this node draws: its own with "dropout" for
// "dropout_add" (the op name is the label's last segment, before any "_n").
std::string mask_label(const std::string& label) {
  const std::size_t at = label.rfind(kName);
  if (at == std::string::npos) return label;
  return label.substr(0, at) + "dropout" + label.substr(at + kName.size());
}

// y = a + b, elementwise, in dropout's blocks.
template <class T>
void add(const OpContext& c, const T* a, const T* b, T* y, std::int64_t n) {
  c.parallel_for(n, dropout_mask::kGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) y[i] = a[i] + b[i];
  });
}

class DropoutAddOp final : public Op {
 public:
  explicit DropoutAddOp(double p) : p_(p) {
    if (!(p >= 0 && p < 1)) throw Error(fmt::format("[dropout_add] p must be in [0, 1), got {}", p));
  }
  std::string name() const override { return std::string(kName); }
  std::string describe() const override { return fmt::format("p={}", p_); }
  std::string label_family() const override { return "dropout"; }  // numbered with dropout: one mask key each

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 2) throw ShapeError(fmt::format("[dropout_add] takes 2 inputs, got {}", in.size()));
    if (!is_floating(in[0].dtype) || in[1].dtype != in[0].dtype || in[1].shape != in[0].shape)
      throw ShapeError(fmt::format("[dropout_add] needs a and b of one shape and one floating dtype, got {} and {}",
                                   to_string(in[0]), to_string(in[1])));
    return in[0];
  }

  // y = a + (b * scale or 0), chunk by chunk: the dropped b lands in y, then
  // a is added onto it while the chunk is in cache.
  Tensor forward(OpContext& c) const override {
    const Tensor &a = c.input(0), &b = c.input(1);
    Tensor y = Tensor::empty(a.dtype(), a.shape());
    if (!c.training() || p_ == 0) {
      visit_floating(a.dtype(), [&]<class T>(T) { add<T>(c, a.data<T>(), b.data<T>(), y.data<T>(), a.numel()); });
      return y;
    }
    Tensor bits = Tensor::empty(DType::i32, {(a.numel() + 31) / 32});
    auto* kept = reinterpret_cast<std::uint32_t*>(bits.data<std::int32_t>());
    const std::uint64_t key = dropout_mask::key(c, mask_label(c.label()));
    visit_floating(a.dtype(), [&]<class T>(T) {
      const T* pa = a.data<T>();
      T* py = y.data<T>();
      dropout_mask::apply<T>(c, key, b.data<T>(), py, kept, a.numel(), p_, [&](std::int64_t i, std::int64_t m) {
        for (std::int64_t j = i; j < i + m; ++j) py[j] = pa[j] + py[j];
      });
    });
    c.saved() = {bits};
    return y;
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    if (!c.training() || p_ == 0) return {g, g};
    if (c.saved().size() != 1)
      throw Error("[dropout_add] backward without the mask of its forward in training mode");
    const auto* kept = reinterpret_cast<const std::uint32_t*>(c.saved()[0].data<std::int32_t>());
    Tensor db = Tensor::empty(g.dtype(), g.shape());
    visit_floating(g.dtype(), [&]<class T>(T) {
      dropout_mask::apply_bits<T>(c, kept, g.data<T>(), db.data<T>(), g.numel(), p_);
    });
    return {g, db};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    // Forward: dropout's ~3 operations an element and the add; backward: a select.
    return {4 * n, n, 3 * n * e + n / 8, 2 * n * e + n / 8};
  }

 private:
  double p_;
};

}  // namespace

Expr dropout_add(Expr a, Expr b, double p) { return a.graph->add(std::make_shared<DropoutAddOp>(p), {a, b}); }

void register_dropout_add_ops(OpRegistry& r) {
  using namespace samples;
  // Masks fixed by the seed in training; a plain sum in eval mode and for p = 0.
  r.add({std::string(kName), "a + dropout(b, p) in one op, dropout's mask (attribute p)",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<DropoutAddOp>(a.get_double(std::string(kName), "p"));
         },
         {in_training(sample({uniform({5, 7}), uniform({5, 7})}, {{"p", 0.3}})),
          in_training(sample({uniform({2, 3, 4}), uniform({2, 3, 4})}, {{"p", 0.5}})),
          in_training(sample({uniform({1}), uniform({1})}, {{"p", 0.3}})),
          in_training(sample({uniform({2, 3}), uniform({2, 3})}, {{"p", 0.0}})),
          sample({uniform({2, 3}), uniform({2, 3})}, {{"p", 0.5}})},
         {shape_error({f64({2, 3}), f64({3})}, {{"p", 0.1}}), shape_error({f64({2, 3}), f32({2, 3})}, {{"p", 0.1}}),
          shape_error({i32({2, 3}), i32({2, 3})}, {{"p", 0.1}}), shape_error({f64({2, 3})}, {{"p", 0.1}})}});
}

}  // namespace attograd
