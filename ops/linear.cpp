#include "ops/linear.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/gemm.hpp"
#include "ops/gemm/multiply.hpp"

namespace attograd {
namespace {

// Rows M of x (..., K): the product of its leading dims (also when K = 0).
std::int64_t rows_of(const Shape& x) { return numel(Shape(x.begin(), x.end() - 1)); }

// The three products in bf16 (RunSettings::precision), on attograd's own
// GEMM (ops/gemm/): operands rounded to bf16 (nearest even) as they are
// packed, products accumulated in f32 from an f32 start, outputs f32. The
// GEMM packs its B operand once per call, shared by every task: W (as Wᵀ
// forward, as W for dX) once per node and phase, X once for dW.
constexpr gemm::Options kBf16{.precision = Precision::bf16};

//   Y (M, N) = X (M, K) · Wᵀ (K, N) + b: the bias is each element's start.
void forward_bf16(const Parallel& p, std::int64_t m, std::int64_t n, std::int64_t k, const Tensor& x, const Tensor& w,
                  const Tensor& b, Tensor& y) {
  gemm::multiply(p, m, n, k, {x.data<float>(), k}, {w.data<float>(), k, /*transposed=*/true}, y.data<float>(), n,
                 gemm::Start::with_bias(b.data<float>()), kBf16);
}
//   dX (M, K) = G (M, N) · W (N, K)
void grad_x_bf16(const Parallel& p, std::int64_t m, std::int64_t n, std::int64_t k, const Tensor& g, const Tensor& w,
                 Tensor& gx) {
  gemm::multiply(p, m, k, n, {g.data<float>(), n}, {w.data<float>(), k}, gx.data<float>(), k, {}, kBf16);
}
//   dW (N, K) = Gᵀ (N, M) · X (M, K): one contraction over all M rows.
void grad_w_bf16(const Parallel& p, std::int64_t m, std::int64_t n, std::int64_t k, const Tensor& g, const Tensor& x,
                 Tensor& gw) {
  gemm::multiply(p, n, k, m, {g.data<float>(), n, /*transposed=*/true}, {x.data<float>(), k}, gw.data<float>(), k, {},
                 kBf16);
}

class LinearOp final : public Op {
 public:
  std::string name() const override { return "linear"; }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 3) throw ShapeError(fmt::format("[linear] takes 3 inputs (x, weight, bias), got {}", in.size()));
    const DType t = in[0].dtype;
    if (!is_floating(t) || in[1].dtype != t || in[2].dtype != t)
      throw ShapeError(fmt::format("[linear] x, weight and bias must share one floating dtype, got {}, {} and {}",
                                   dtype_name(t), dtype_name(in[1].dtype), dtype_name(in[2].dtype)));
    const Shape &x = in[0].shape, &w = in[1].shape, &b = in[2].shape;
    if (w.size() != 2) throw ShapeError(fmt::format("[linear] weight must be (out, in), got {}", to_string(w)));
    if (x.empty() || x.back() != w[1])
      throw ShapeError(fmt::format("[linear] x {} must end in the weight's {} input features (weight {})",
                                   to_string(x), w[1], to_string(w)));
    if (b != Shape{w[0]})
      throw ShapeError(fmt::format("[linear] bias {} must be ({},), one per output of weight {}", to_string(b), w[0],
                                   to_string(w)));
    Shape out = x;
    out.back() = w[0];
    return {t, out};
  }

  Tensor forward(OpContext& c) const override {
    const Tensor &x = c.input(0), &w = c.input(1), &b = c.input(2);
    const std::int64_t k = w.dim(1), n = w.dim(0), m = rows_of(x.shape());
    Tensor out = c.allocate_output();
    if (c.products_in(out.dtype()) == Precision::bf16) {
      forward_bf16(c.parallel(), m, n, k, x, w, b, out);
      return out;
    }
    visit_floating(out.dtype(), [&]<class T>(T) {
      T* y = out.data<T>();
      const T* bias = b.data<T>();
      const auto fill_bias = [&](std::int64_t row, std::int64_t rows) {
        for (std::int64_t r = row; r < row + rows; ++r) std::copy(bias, bias + n, y + r * n);
      };
      gemm::rows<T>(c, false, true, m, n, k, x.data<T>(), k, w.data<T>(), k, y, fill_bias);
    });
    return out;
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor &x = c.input(0), &w = c.input(1);
    const std::int64_t k = w.dim(1), n = w.dim(0), m = rows_of(x.shape());
    const Tensor g = c.grad_output().reshaped({m, n});
    Tensor gx, gw, gb;
    const bool bf16 = c.products_in(g.dtype()) == Precision::bf16;
    if (bf16 && c.needs_grad(0)) {
      gx = Tensor::empty(x.dtype(), x.shape());
      grad_x_bf16(c.parallel(), m, n, k, g, w, gx);
    }
    if (bf16 && c.needs_grad(1)) {
      gw = Tensor::empty(w.dtype(), w.shape());
      grad_w_bf16(c.parallel(), m, n, k, g, x, gw);
    }
    if (!bf16) visit_floating(g.dtype(), [&]<class T>(T) {
      if (c.needs_grad(0)) {
        gx = Tensor::empty(x.dtype(), x.shape());
        gemm::rows<T>(c, false, false, m, k, n, g.data<T>(), n, w.data<T>(), k, gx.data<T>());
      }
      if (c.needs_grad(1)) {
        gw = Tensor::empty(w.dtype(), w.shape());
        gemm::rows<T>(c, true, false, n, k, m, g.data<T>(), n, x.data<T>(), k, gw.data<T>());
      }
    });
    if (c.needs_grad(2)) gb = sum_to_shape(g, {n}, &c.parallel());  // what add's broadcast backward computes
    return {gx, gw, gb};
  }
  bool backward_reads_input(std::size_t input) const override { return input < 2; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const std::int64_t k = in[1].shape[1], n = in[1].shape[0], m = rows_of(in[0].shape);
    const double flops = 2.0 * double(m) * double(n) * double(k);
    const double e = double(dtype_size(out.dtype));
    const double bytes = e * double(numel(in[0].shape) + numel(in[1].shape) + n + numel(out.shape));
    return {flops, 2 * flops, bytes, 2 * bytes};
  }
};

}  // namespace

Expr linear(Expr x, Expr weight, Expr bias) {
  return x.graph->add(std::make_shared<LinearOp>(), {x, weight, bias});
}

void register_linear_ops(OpRegistry& r) {
  using namespace samples;
  // A batch of rows, a single vector, inputs that want no gradient, no rows
  // (zero weight and bias gradients) and no input features (y = bias).
  OpSchema schema{
      "linear",
      "x (..., K) @ weight (N, K)^T + bias (N) -> (..., N), one op (torch.nn.functional.linear)",
      [](const Attributes&) -> OpPtr { return std::make_shared<LinearOp>(); },
      {sample({uniform({2, 3, 4}), uniform({5, 4}), uniform({5})}),
       sample({uniform({3, 4}), uniform({5, 4}), uniform({5})}),
       sample({uniform({2, 3, 4}), uniform({2, 4}), uniform({2})}),
       sample({uniform({4}), uniform({3, 4}), uniform({3})}),
       sample({no_grad(uniform({2, 3, 4})), uniform({5, 4}), uniform({5})}),
       sample({uniform({3, 4}), no_grad(uniform({5, 4})), uniform({5})}),
       sample({uniform({0, 4}), uniform({3, 4}), uniform({3})}),
       sample({uniform({3, 0}), uniform({2, 0}), uniform({2})})},
      {shape_error({f64({2, 3}), f64({4, 5}), f64({4})}), shape_error({f64({2, 3}), f64({4, 3}), f64({3})}),
       shape_error({f64({}), f64({4, 3}), f64({4})})}};
  schema.bf16_kernel = true;
  r.add(std::move(schema));
}

}  // namespace attograd
