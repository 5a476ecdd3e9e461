// swiglu — an op plugin, built as a shared module outside attograd's ops
// library and loaded at run time (README.md next to this file).
//
//   x (..., 2F) -> out (..., F)
//   a = x[..., :F],  b = x[..., F:]          the two halves of the last axis
//   out = silu(a) * b,  silu(a) = a * sigmoid(a)
//
// The gated activation of the "GLU Variants Improve Transformer" paper
// (Shazeer, 2020): a model applies it by name, apply("swiglu", {h}).
//
// Backward, with g = dL/dout and s = sigmoid(a):
//   ds/da    = s (1 - s)
//   dsilu/da = s + a s (1 - s) = s (1 + a (1 - s))
//   dL/da    = g * b * s * (1 + a (1 - s))
//   dL/db    = g * silu(a) = g * a * s
// and dL/dx = [dL/da, dL/db] along the last axis. Backward reads x, not the
// output: recomputing s costs one exp per element and saves keeping it.
#include <algorithm>
#include <cmath>
#include <memory>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/plugin_api.hpp"

namespace {

using namespace attograd;

// Stable for large |a|: e^-a never overflows.
template <class T> T sigmoid(T a) {
  if (a >= 0) return T(1) / (T(1) + std::exp(-a));
  const T e = std::exp(a);
  return e / (T(1) + e);
}

// Rows are independent, so blocks of whole rows give the same bits on any
// number of threads. The grain depends on F only.
std::int64_t row_grain(std::int64_t f) { return std::max<std::int64_t>(1, 16384 / f); }

template <class T>
void swiglu_forward(const OpContext& ctx, const T* x, T* out, std::int64_t rows, std::int64_t f) {
  ctx.parallel_for(rows, row_grain(f), [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* a = x + r * 2 * f;
      const T* b = a + f;
      T* o = out + r * f;
      for (std::int64_t j = 0; j < f; ++j) o[j] = a[j] * sigmoid(a[j]) * b[j];
    }
  });
}

template <class T>
void swiglu_backward(const OpContext& ctx, const T* x, const T* g, T* grad_x, std::int64_t rows, std::int64_t f) {
  ctx.parallel_for(rows, row_grain(f), [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* a = x + r * 2 * f;
      const T* b = a + f;
      const T* gr = g + r * f;
      T* grad_a = grad_x + r * 2 * f;
      T* grad_b = grad_a + f;
      for (std::int64_t j = 0; j < f; ++j) {
        const T s = sigmoid(a[j]);
        grad_a[j] = gr[j] * b[j] * s * (T(1) + a[j] * (T(1) - s));
        grad_b[j] = gr[j] * a[j] * s;
      }
    }
  });
}

class SwigluOp final : public Op {
 public:
  std::string name() const override { return "swiglu"; }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError("[swiglu] takes 1 input, got " + std::to_string(in.size()));
    const TensorType& x = in[0];
    if (!is_floating(x.dtype) || x.shape.empty() || x.shape.back() <= 0 || x.shape.back() % 2 != 0)
      throw ShapeError("[swiglu] needs a floating input (..., 2F) with F > 0, got " + to_string(x));
    Shape out = x.shape;
    out.back() /= 2;
    return {x.dtype, out};
  }

  Tensor forward(OpContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor out = ctx.allocate_output();
    const std::int64_t f = out.shape().back();
    visit_floating(x.dtype(), [&]<class T>(T) { swiglu_forward<T>(ctx, x.data<T>(), out.data<T>(), out.numel() / f, f); });
    return out;
  }

  std::vector<Tensor> backward(OpContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& g = ctx.grad_output();
    Tensor grad_x = Tensor::empty(x.dtype(), x.shape());
    const std::int64_t f = g.shape().back();
    visit_floating(x.dtype(), [&]<class T>(T) {
      swiglu_backward<T>(ctx, x.data<T>(), g.data<T>(), grad_x.data<T>(), g.numel() / f, f);
    });
    return {grad_x};
  }

  // Per output element: forward exp + ~5 flops; backward exp + ~10 flops.
  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    const double x_bytes = static_cast<double>(numel(in[0].shape)) * e;
    return {6 * n, 11 * n, x_bytes + n * e, 2 * x_bytes + n * e};
  }

  bool backward_reads_output() const override { return false; }
};

}  // namespace

ATTOGRAD_PLUGIN(registrar) {
  using namespace attograd::samples;
  OpSchema op;
  op.name = "swiglu";
  op.summary = "x (..., 2F) -> silu(a) * b (..., F), a and b the two halves of the last axis";
  op.factory = [](const Attributes&) -> OpPtr { return std::make_shared<SwigluOp>(); };
  // Values on both sides of silu's minimum near a = -1.28.
  op.samples = {sample({uniform({3, 4}, -3, 3)}), sample({uniform({2, 3, 6}, -3, 3)}),
                sample({uniform({1, 2}, -3, 3)})};
  op.shape_errors = {shape_error({f64({2, 3})}), shape_error({i32({2, 4})})};  // an odd last axis; integers
  registrar.add(std::move(op));
}
