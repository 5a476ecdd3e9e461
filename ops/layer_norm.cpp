#include "ops/layer_norm.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/row_kernels.hpp"

namespace attograd {
namespace {

using kernels::lane_sum;
using kernels::parallel_rows;
using kernels::rows_per_block;

// One row of D: mean and variance in two passes (no cancellation from
// E[x^2] - E[x]^2), then y = (x - mean) * rstd * gain + bias. A constant row
// has var = 0 and rstd = 1/sqrt(eps): finite, and y = bias.
template <class T>
void normalize_row(const T* x, const T* gain, const T* bias, T* y, std::int64_t D, T eps, T& mean, T& rstd) {
  const T mu = lane_sum<T>(D, [x](std::int64_t d) { return x[d]; }) / static_cast<T>(D);
  const T v = lane_sum<T>(D, [x, mu](std::int64_t d) { return (x[d] - mu) * (x[d] - mu); });
  const T r = T(1) / std::sqrt(v / static_cast<T>(D) + eps);
  for (std::int64_t d = 0; d < D; ++d) y[d] = (x[d] - mu) * r * gain[d] + bias[d];
  mean = mu;
  rstd = r;
}

// Backward of one row. With xhat = (x - mean) * r, r = (var + eps)^(-1/2) and
// h = g * gain = dL/dxhat:
//   dvar/dx_i = 2 (x_i - mean) / D  (the mean's own derivative sums to zero)
//   dr/dx_i   = -r^3 (x_i - mean) / D = -r^2 xhat_i / D
//   dxhat_j/dx_i = r (delta_ij - 1/D) - r xhat_j xhat_i / D
// so dx_i = sum_j h_j dxhat_j/dx_i = r (h_i - mean(h) - xhat_i mean(h xhat)).
template <class T>
void normalize_row_backward(const T* x, const T* g, const T* gain, T* dx, std::int64_t D, T mean, T rstd) {
  const T mean_h = lane_sum<T>(D, [g, gain](std::int64_t d) { return g[d] * gain[d]; }) / static_cast<T>(D);
  const T mean_hx =
      lane_sum<T>(D, [=](std::int64_t d) { return g[d] * gain[d] * ((x[d] - mean) * rstd); }) / static_cast<T>(D);
  for (std::int64_t d = 0; d < D; ++d) dx[d] = rstd * (g[d] * gain[d] - mean_h - (x[d] - mean) * rstd * mean_hx);
}

class LayerNormOp final : public Op {
 public:
  explicit LayerNormOp(double eps) : eps_(eps) {
    if (!(eps >= 0)) throw Error(fmt::format("[layer_norm] eps must be >= 0, got {}", eps));
  }
  std::string name() const override { return "layer_norm"; }
  std::string describe() const override { return fmt::format("eps={}", eps_); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 3) throw ShapeError(fmt::format("[layer_norm] takes x, gain and bias, got {} inputs", in.size()));
    const TensorType &x = in[0], &gain = in[1], &bias = in[2];
    if (!is_floating(x.dtype) || gain.dtype != x.dtype || bias.dtype != x.dtype)
      throw ShapeError(fmt::format("[layer_norm] x, gain and bias must share one floating dtype, got {}, {} and {}",
                                   to_string(x), to_string(gain), to_string(bias)));
    if (x.shape.empty())
      throw ShapeError("[layer_norm] x must have at least one axis (..., D), got a scalar ()");
    const Shape row{x.shape.back()};
    if (gain.shape != row || bias.shape != row)
      throw ShapeError(fmt::format("[layer_norm] x {} needs gain and bias of shape {}, got {} and {}",
                                   to_string(x.shape), to_string(row), to_string(gain.shape), to_string(bias.shape)));
    return x;
  }

  // Saves mean and rstd, one per row, for backward.
  Tensor forward(OpContext& c) const override {
    const Tensor &x = c.input(0), &gain = c.input(1), &bias = c.input(2);
    const std::int64_t D = x.shape().back(), rows = D ? x.numel() / D : 0;
    Tensor y = c.allocate_output();
    Tensor mean = Tensor::empty(x.dtype(), {rows}), rstd = Tensor::empty(x.dtype(), {rows});
    visit_floating(x.dtype(), [&]<class T>(T) {
      const T *px = x.data<T>(), *pg = gain.data<T>(), *pb = bias.data<T>();
      T *py = y.data<T>(), *pm = mean.data<T>(), *pr = rstd.data<T>();
      parallel_rows(c, rows, D, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t r = lo; r < hi; ++r)
          normalize_row<T>(px + r * D, pg, pb, py + r * D, D, static_cast<T>(eps_), pm[r], pr[r]);
      });
    });
    c.saved() = {mean, rstd};
    return y;
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor &x = c.input(0), &gain = c.input(1), &g = c.grad_output();
    const Tensor &mean = c.saved().at(0), &rstd = c.saved().at(1);
    const std::int64_t D = x.shape().back(), rows = D ? x.numel() / D : 0;
    Tensor dx, dgain, dbias;
    visit_floating(x.dtype(), [&]<class T>(T) {
      if (c.needs_grad(0)) {
        dx = Tensor::empty(x.dtype(), x.shape());
        const T *px = x.data<T>(), *pg = g.data<T>(), *pgain = gain.data<T>(), *pm = mean.data<T>(),
                *pr = rstd.data<T>();
        T* pdx = dx.data<T>();
        parallel_rows(c, rows, D, [&](std::int64_t lo, std::int64_t hi) {
          for (std::int64_t r = lo; r < hi; ++r)
            normalize_row_backward<T>(px + r * D, pg + r * D, pgain, pdx + r * D, D, pm[r], pr[r]);
        });
      }
      if (c.needs_grad(1) || c.needs_grad(2)) {
        dgain = Tensor::empty(x.dtype(), {D});
        dbias = Tensor::empty(x.dtype(), {D});
        parameter_grads<T>(c, x, g, mean, rstd, dgain, dbias);
      }
    });
    return {dx, dgain, dbias};
  }
  bool backward_reads_input(std::size_t i) const override { return i < 2; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    return {8 * n, 14 * n, 2 * n * e, 3 * n * e};
  }

 private:
  // dgain = sum over rows of g * xhat, dbias = sum over rows of g. Each fixed
  // block of rows sums into its own partial row; the partials are then added
  // column by column in block order, so the bits never depend on the threads.
  template <class T>
  static void parameter_grads(const OpContext& c, const Tensor& x, const Tensor& g, const Tensor& mean,
                              const Tensor& rstd, Tensor& dgain, Tensor& dbias) {
    const std::int64_t D = x.shape().back(), rows = D ? x.numel() / D : 0;
    const std::int64_t per_block = rows_per_block(D), blocks = block_count(rows, per_block);
    std::vector<T> part_gain(static_cast<std::size_t>(blocks * D), T(0)), part_bias(part_gain.size(), T(0));
    const T *px = x.data<T>(), *pg = g.data<T>(), *pm = mean.data<T>(), *pr = rstd.data<T>();
    parallel_rows(c, rows, D, [&](std::int64_t lo, std::int64_t hi) {
      T* pgain = part_gain.data() + (lo / per_block) * D;
      T* pbias = part_bias.data() + (lo / per_block) * D;
      for (std::int64_t r = lo; r < hi; ++r)
        for (std::int64_t d = 0; d < D; ++d) {
          pgain[d] += pg[r * D + d] * (px[r * D + d] - pm[r]) * pr[r];
          pbias[d] += pg[r * D + d];
        }
    });
    T *dg = dgain.data<T>(), *db = dbias.data<T>();
    c.parallel_for(D, 1024, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t d = lo; d < hi; ++d) {
        T sg = 0, sb = 0;
        for (std::int64_t k = 0; k < blocks; ++k) {
          sg += part_gain[k * D + d];
          sb += part_bias[k * D + d];
        }
        dg[d] = sg;
        db[d] = sb;
      }
    });
  }

  double eps_;
};

}  // namespace

Expr layer_norm(Expr x, Expr gain, Expr bias, double eps) {
  return x.graph->add(std::make_shared<LayerNormOp>(eps), {x, gain, bias});
}

void register_layer_norm_ops(OpRegistry& r) {
  using namespace samples;
  // Rows of 19 and 16 run the 8-lane sums' main loop with and without a tail;
  // rows of 1 and constant rows have var = 0.
  std::vector<OpSample> cases;
  for (const Shape& s : {Shape{3, 5}, Shape{2, 3, 4}, Shape{6}, Shape{4, 1}, Shape{1, 2}, Shape{2, 19}, Shape{16}})
    cases.push_back(sample({uniform(s, -2, 2), uniform({s.back()}, 0.5, 2), uniform({s.back()})}));
  cases.push_back(
      sample({values({1, 4}, {3, 3, 3, 3}), values({4}, {1, -2, 3, 0.5}), values({4}, {0.1, 0.2, 0.3, 0.4})}));
  cases.push_back(sample({uniform({3, 4}), uniform({4}), uniform({4})}, {{"eps", 1e-3}}));
  r.add({"layer_norm", "x (..., D), gain (D), bias (D) -> (x - mean) / sqrt(var + eps) * gain + bias (attribute eps)",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<LayerNormOp>(a.get_double("layer_norm", "eps", 1e-5));
         },
         cases,
         {shape_error({f64({2, 3, 4}), f64({3}), f64({4})}), shape_error({f64({2, 3, 4}), f64({4}), f32({4})}),
          shape_error({f64({}), f64({}), f64({})})}});
}

}  // namespace attograd
