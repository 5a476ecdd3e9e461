#include "ops/cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/row_kernels.hpp"
#include "ops/vec_math.hpp"

namespace attograd {
namespace {

using kernels::parallel_rows;

// For one row x of V logits: lse = log sum_v e^(x_v) (computed as
// m + log sum e^(x_v - m), m = max x, so nothing overflows) and
//   loss = -sum_v q_v (x_v - lse)
//        = (1 - eps) (lse - x_t) + eps (lse - mean_v x_v)      (sum_v q_v = 1)
// Both terms are >= 0. Sums are carried in double.
template <class T>
double row_loss(const T* x, std::int64_t V, std::int64_t target, double eps, double& lse) {
  if constexpr (std::is_same_v<T, float>) {  // SIMD lanes, fixed reduction order
    const float m = vec::max(x, V);
    const double sum_x = vec::sum(x, V), s = vec::exp_shifted(x, V, m, nullptr);
    lse = static_cast<double>(m) + std::log(s);
    return (1 - eps) * (lse - static_cast<double>(x[target])) + eps * (lse - sum_x / static_cast<double>(V));
  }
  T m = x[0];
  double sum_x = 0;
  for (std::int64_t v = 0; v < V; ++v) {
    m = std::max(m, x[v]);
    sum_x += static_cast<double>(x[v]);
  }
  double s = 0;
  for (std::int64_t v = 0; v < V; ++v) s += static_cast<double>(std::exp(x[v] - m));
  lse = static_cast<double>(m) + std::log(s);
  return (1 - eps) * (lse - static_cast<double>(x[target])) + eps * (lse - sum_x / static_cast<double>(V));
}

// dloss/dx_v = softmax_v - q_v; the row's gradient is that times `scale`.
template <class T>
void row_grad(const T* x, T* dx, std::int64_t V, std::int64_t target, double eps, double lse, T scale) {
  const T smooth = static_cast<T>(eps / static_cast<double>(V));
  if constexpr (std::is_same_v<T, float>)
    vec::exp_shifted_affine(x, V, static_cast<float>(lse), smooth, scale, dx);
  else
    for (std::int64_t v = 0; v < V; ++v)
      dx[v] = (std::exp(static_cast<T>(static_cast<double>(x[v]) - lse)) - smooth) * scale;
  dx[target] -= static_cast<T>(1 - eps) * scale;
}

class CrossEntropyOp final : public Op {
 public:
  CrossEntropyOp(std::int64_t ignore_index, double label_smoothing, Reduction reduction)
      : ignore_(ignore_index), eps_(label_smoothing), reduction_(reduction) {
    if (!(label_smoothing >= 0 && label_smoothing <= 1))
      throw Error(fmt::format("[cross_entropy] label_smoothing must be in [0, 1], got {}", label_smoothing));
  }
  std::string name() const override { return "cross_entropy"; }
  std::string describe() const override {
    return fmt::format("ignore_index={} label_smoothing={} reduction={}", ignore_, eps_,
                       reduction_ == Reduction::mean ? "mean" : "sum");
  }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 2) throw ShapeError(fmt::format("[cross_entropy] takes logits and targets, got {} inputs", in.size()));
    const TensorType &logits = in[0], &targets = in[1];
    if (!is_floating(logits.dtype) || (logits.shape.size() != 2 && logits.shape.size() != 3) ||
        logits.shape.back() == 0)
      throw ShapeError(fmt::format("[cross_entropy] logits must be floating (N, V) or (B, T, V) with V >= 1, got {}",
                                   to_string(logits)));
    const Shape rows(logits.shape.begin(), logits.shape.end() - 1);
    if (targets.dtype != DType::i32 || targets.shape != rows)
      throw ShapeError(fmt::format("[cross_entropy] logits {} need i32 targets of shape {}, got {}",
                                   to_string(logits.shape), to_string(rows), to_string(targets)));
    return {logits.dtype, {}};
  }

  // Saves each row's log-sum-exp (f64) for backward.
  Tensor forward(OpContext& c) const override {
    const Tensor &logits = c.input(0), &targets = c.input(1);
    const std::int64_t V = logits.shape().back(), N = targets.numel();
    const std::int32_t* t = targets.data<std::int32_t>();
    check_targets(t, N, V, targets.shape());
    Tensor lse = Tensor::zeros(DType::f64, {N});
    std::vector<double> losses(static_cast<std::size_t>(N), 0.0);
    visit_floating(logits.dtype(), [&]<class T>(T) {
      const T* x = logits.data<T>();
      double* plse = lse.data<double>();
      parallel_rows(c, N, V, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t r = lo; r < hi; ++r)
          if (t[r] != ignore_) losses[r] = row_loss<T>(x + r * V, V, t[r], eps_, plse[r]);
      });
    });
    double total = 0;  // in row order: deterministic
    for (double l : losses) total += l;
    const std::int64_t count = counted(t, N);
    if (reduction_ == Reduction::mean) total = count ? total / static_cast<double>(count) : 0.0;
    c.saved() = {lse};
    return Tensor::scalar(logits.dtype(), total);
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor &logits = c.input(0), &targets = c.input(1);
    const std::int64_t V = logits.shape().back(), N = targets.numel();
    const std::int32_t* t = targets.data<std::int32_t>();
    const double* lse = c.saved().at(0).data<double>();
    const std::int64_t count = counted(t, N);
    double scale = c.grad_output().to(DType::f64).item();
    if (reduction_ == Reduction::mean) scale = count ? scale / static_cast<double>(count) : 0.0;
    Tensor dlogits = Tensor::empty(logits.dtype(), logits.shape());
    visit_floating(logits.dtype(), [&]<class T>(T) {
      const T* x = logits.data<T>();
      T* dx = dlogits.data<T>();
      parallel_rows(c, N, V, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t r = lo; r < hi; ++r) {
          if (t[r] == ignore_) std::fill_n(dx + r * V, V, T(0));
          else row_grad<T>(x + r * V, dx + r * V, V, t[r], eps_, lse[r], static_cast<T>(scale));
        }
      });
    });
    return {dlogits, Tensor()};
  }
  bool differentiable(std::size_t input) const override { return input == 0; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType&) const override {
    const double n = static_cast<double>(numel(in[0].shape)), e = static_cast<double>(dtype_size(in[0].dtype));
    return {5 * n, 5 * n, n * e, 3 * n * e};
  }

 private:
  void check_targets(const std::int32_t* t, std::int64_t n, std::int64_t V, const Shape& shape) const {
    if (auto bad = kernels::first_out_of_range(t, n, V, ignore_))
      throw Error(fmt::format("[cross_entropy] target {} at position {} of targets {} is out of range for V = {} "
                              "classes (ignore_index = {})",
                              t[*bad], *bad, to_string(shape), V, ignore_));
  }
  std::int64_t counted(const std::int32_t* t, std::int64_t n) const {
    return std::count_if(t, t + n, [this](std::int32_t v) { return v != ignore_; });
  }

  std::int64_t ignore_;
  double eps_;
  Reduction reduction_;
};

}  // namespace

Expr cross_entropy(Expr logits, Expr targets, std::int64_t ignore_index, double label_smoothing, Reduction reduction) {
  return logits.graph->add(std::make_shared<CrossEntropyOp>(ignore_index, label_smoothing, reduction),
                           {logits, targets});
}

void register_cross_entropy_ops(OpRegistry& r) {
  using namespace samples;
  // (N, V) and (B, T, V) logits, ignored targets (the default -100 and 1),
  // one class, with and without smoothing, summed and averaged.
  std::vector<OpSample> cases;
  for (double eps : {0.0, 0.1})
    for (const std::string reduction : {"mean", "sum"}) {
      const Attributes a{{"label_smoothing", eps}, {"reduction", reduction}};
      Attributes ignore_one = a;
      ignore_one.set("ignore_index", std::int64_t{1});
      cases.push_back(sample({uniform({4, 5}, -3, 3), ids({4}, {4, -100, 0, 2})}, a));
      cases.push_back(sample({uniform({2, 3, 4}, -3, 3), ids({2, 3}, {1, 3, 0, 1, 2, 2})}, ignore_one));
      cases.push_back(sample({uniform({1, 1}), ids({1}, {0})}, a));
    }
  r.add({"cross_entropy",
         "logits (N, V) or (B, T, V), targets i32 -> loss () (attributes ignore_index, label_smoothing, reduction)",
         [](const Attributes& a) -> OpPtr {
           const std::string reduction = a.get_string("cross_entropy", "reduction", "mean");
           if (reduction != "mean" && reduction != "sum")
             throw Error(fmt::format("[cross_entropy] attribute 'reduction' must be \"mean\" or \"sum\", got \"{}\"",
                                     reduction));
           return std::make_shared<CrossEntropyOp>(a.get_int("cross_entropy", "ignore_index", -100),
                                                   a.get_double("cross_entropy", "label_smoothing", 0.0),
                                                   reduction == "mean" ? Reduction::mean : Reduction::sum);
         },
         cases,
         {shape_error({f64({2, 3, 4}), i32({2, 4})}), shape_error({f64({2, 3, 4}), f64({2, 3})}),
          shape_error({f64({4}), i32({})})}});
}

}  // namespace attograd
