// matmul on OpenBLAS through ops/gemm.hpp; in bf16 on ops/gemm/ (matmul_bf16.cpp).
#include "ops/matmul.hpp"

#include <algorithm>
#include <type_traits>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/gemm.hpp"
#include "ops/matmul_operand.hpp"

namespace attograd {
namespace {

using matmul_detail::batch_offset;
using matmul_detail::Operand;
using matmul_detail::operand;

// out (batch..., M, N) = op(x) @ op(y) for every batch entry, one GEMM per
// block of row_block() rows. Row block [r0, r0+rows) of op(x) starts at row r0
// of X, or column r0 of X when transposed: no copy either way. In bf16 (f32
// values only) the products run on attograd's own GEMM instead.
template <class T>
void batched_gemm(const OpContext& ctx, const Operand<T>& x, const Operand<T>& y, T* out, const Shape& batch,
                  Precision precision) {
  if constexpr (std::is_same_v<T, float>)
    if (precision == Precision::bf16) return matmul_detail::batched_gemm_bf16(ctx.parallel(), x, y, out, batch);
  const std::int64_t m = x.op_rows(), k = x.op_cols(), n = y.op_cols(), count = numel(batch);
  if (count == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    std::fill_n(out, count * m * n, T(0));
    return;
  }
  gemm::pin_blas_to_one_thread();
  const std::int64_t rb = gemm::row_block(m, count), blocks = (m + rb - 1) / rb;
  const std::int64_t grain = gemm::blocks_per_task(count * blocks, std::min(m, rb), n, k);
  ctx.parallel_for(count * blocks, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t task = lo; task < hi; ++task) {
      const std::int64_t b = task / blocks, r0 = (task % blocks) * rb;
      const T* xs = x.data + batch_offset(b, batch, x.strides) + (x.trans ? r0 : r0 * x.cols);
      const T* ys = y.data + batch_offset(b, batch, y.strides);
      gemm::call(x.trans, y.trans, std::min(rb, m - r0), n, k, xs, x.cols, ys, y.cols, T(0), out + (b * m + r0) * n);
    }
  });
}

// The product's batch shape and matrix sizes, from the stored shapes.
struct Dims {
  Shape batch;
  std::int64_t m, k, n;
};

class MatmulOp final : public Op {
 public:
  MatmulOp(bool ta, bool tb) : ta_(ta), tb_(tb) {}
  std::string name() const override { return "matmul"; }
  std::string describe() const override {
    return fmt::format("{}{}", ta_ ? "transpose_a " : "", tb_ ? "transpose_b" : "");
  }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 2) throw ShapeError(fmt::format("[matmul] takes 2 inputs, got {}", in.size()));
    if (in[0].dtype != in[1].dtype || !is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[matmul] inputs must share one floating dtype, got {} and {}",
                                   dtype_name(in[0].dtype), dtype_name(in[1].dtype)));
    const Dims d = dims(in[0].shape, in[1].shape);
    Shape out = d.batch;
    out.insert(out.end(), {d.m, d.n});
    return {in[0].dtype, out};
  }

  // C = op(A) @ op(B). When B has no batch (the linear layer) and A is not
  // transposed, A's batch folds into M: one (B*T, D) @ (D, F) product.
  Tensor forward(OpContext& c) const override {
    const Folded f = folded(c.input(0), c.input(1));
    Tensor out = c.allocate_output();
    const Precision precision = c.products_in(out.dtype());
    visit_floating(out.dtype(), [&]<class T>(T) {
      batched_gemm<T>(c, operand<T>(f.a, ta_, f.batch), operand<T>(f.b, tb_, f.batch), out.data<T>(), f.batch,
                      precision);
    });
    return out;
  }

  // With op(A) (M, K), op(B) (K, N) and g = dL/dC (M, N):
  //   d op(A) = g @ op(B)^T      d op(B) = op(A)^T @ g
  // and for a stored transpose the gradient is transposed back:
  //   ta: dA = (g @ op(B)^T)^T = op(B) @ g^T      tb: dB = g^T @ op(A).
  // Every case is one batched GEMM with flags, no copies. In the folded
  // linear case dB = A^T @ g is a single GEMM whose K is B*T.
  std::vector<Tensor> backward(OpContext& c) const override {
    const Folded f = folded(c.input(0), c.input(1));
    const Shape& batch = f.batch;
    const Tensor g = c.grad_output().reshaped(product_shape(f.a, f.b, batch));
    Tensor ga, gb;
    const Precision precision = c.products_in(g.dtype());
    visit_floating(g.dtype(), [&]<class T>(T) {
      const Operand<T> og = operand<T>(g, false, batch), oa = operand<T>(f.a, ta_, batch),
                       ob = operand<T>(f.b, tb_, batch);
      const auto product = [&](const Operand<T>& x, const Operand<T>& y) {
        return product_of(c, x, y, batch, precision);
      };
      if (c.needs_grad(0)) ga = ta_ ? product(ob, transposed(og)) : product(og, transposed(ob));
      if (c.needs_grad(1)) gb = tb_ ? product(transposed(og), oa) : product(transposed(oa), og);
    });
    if (f.was_folded) {  // same element counts: back to the inputs' shapes
      if (ga.defined()) ga = ga.reshaped(c.input(0).shape());
      if (gb.defined()) gb = gb.reshaped(c.input(1).shape());
    }
    return {ga, gb};  // broadcast-shaped where a batch dim was broadcast: the engine sums
  }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const Dims d = dims(in[0].shape, in[1].shape);
    const double flops = 2.0 * double(d.m) * double(d.n) * double(d.k) * double(numel(d.batch));
    const double e = double(dtype_size(out.dtype));
    const double bytes = e * double(numel(in[0].shape) + numel(in[1].shape) + numel(out.shape));
    return {flops, 2 * flops, bytes, 2 * bytes};
  }

 private:
  Dims dims(const Shape& a, const Shape& b) const {
    if (a.size() < 2 || b.size() < 2)
      throw ShapeError(
          fmt::format("[matmul] needs operands of rank >= 2, got a {} and b {}", to_string(a), to_string(b)));
    const std::size_t ra = a.size(), rb = b.size();
    const std::int64_t m = ta_ ? a[ra - 1] : a[ra - 2], ka = ta_ ? a[ra - 2] : a[ra - 1];
    const std::int64_t kb = tb_ ? b[rb - 1] : b[rb - 2], n = tb_ ? b[rb - 2] : b[rb - 1];
    if (ka != kb)
      throw ShapeError(fmt::format("[matmul] K mismatch: a {}{} has K = {}, b {}{} has K = {}", to_string(a),
                                   ta_ ? " (transposed)" : "", ka, to_string(b), tb_ ? " (transposed)" : "", kb));
    Shape batch;
    if (!broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), batch))
      throw ShapeError(
          fmt::format("[matmul] batch dims of a {} and b {} do not broadcast", to_string(a), to_string(b)));
    return {batch, m, ka, n};
  }

  struct Folded {
    Tensor a, b;
    Shape batch;
    bool was_folded = false;
  };
  // A (..., M, K) with a batch-free B becomes A (rows, K), B (K, N).
  Folded folded(const Tensor& a, const Tensor& b) const {
    const Dims d = dims(a.shape(), b.shape());
    if (ta_ || numel(Shape(b.shape().begin(), b.shape().end() - 2)) != 1) return {a, b, d.batch};
    return {a.reshaped({numel(d.batch) * d.m, d.k}), b.reshaped({b.dim(-2), b.dim(-1)}), {}, true};
  }
  Shape product_shape(const Tensor& a, const Tensor& b, const Shape& batch) const {
    Shape s = batch;
    s.push_back(ta_ ? a.dim(-1) : a.dim(-2));
    s.push_back(tb_ ? b.dim(-2) : b.dim(-1));
    return s;
  }
  template <class T>
  static Operand<T> transposed(Operand<T> o) {
    o.trans = !o.trans;
    return o;
  }
  // A new tensor (batch..., op_rows(x), op_cols(y)) holding op(x) @ op(y).
  template <class T>
  static Tensor product_of(const OpContext& c, const Operand<T>& x, const Operand<T>& y, const Shape& batch,
                           Precision precision) {
    Shape s = batch;
    s.insert(s.end(), {x.op_rows(), y.op_cols()});
    Tensor out = Tensor::empty(dtype_of<T>(), s);
    batched_gemm<T>(c, x, y, out.data<T>(), batch, precision);
    return out;
  }

  bool ta_, tb_;
};

// Samples of logical a (..., M, K) @ b (..., K, N), each operand stored
// transposed where its flag says.
std::vector<OpSample> matmul_samples() {
  using namespace samples;
  std::vector<OpSample> cases;
  auto product = [&cases](Shape a, Shape b, bool ta = false, bool tb = false) {
    if (ta) std::swap(a[a.size() - 2], a.back());
    if (tb) std::swap(b[b.size() - 2], b.back());
    cases.push_back(
        sample({uniform(a), uniform(b)}, {{"transpose_a", std::int64_t{ta}}, {"transpose_b", std::int64_t{tb}}}));
  };
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      product({2, 3, 4}, {2, 4, 5}, ta, tb);
      product({3, 4}, {4, 2}, ta, tb);
      product({2, 3, 4}, {4, 5}, ta, tb);  // rank-2 b: one folded GEMM when a is not transposed
    }
  // Batch dims that broadcast; a batch-free b of rank 3 folds like rank 2.
  product({2, 1, 3, 4}, {5, 4, 6});
  product({2, 1, 3, 4}, {5, 4, 6}, true, true);
  product({3, 4}, {2, 4, 5});
  product({2, 3, 4}, {1, 4, 5});
  product({1, 3, 4}, {2, 1, 4, 5});
  // Size-1 dims (an outer and a dot product) and empty ones (K = 0 gives zeros).
  product({1, 1}, {1, 1});
  product({3, 1}, {1, 4});
  product({1, 4}, {4, 1});
  product({1, 1, 3}, {3, 1});
  product({2, 0}, {0, 3});
  product({0, 2, 3}, {3, 4});
  // A gradient wanted for one operand only.
  cases.push_back(sample({no_grad(uniform({2, 3, 4})), uniform({4, 5})}));
  cases.push_back(sample({uniform({2, 3, 4}), no_grad(uniform({5, 4}))}, {{"transpose_b", std::int64_t{1}}}));
  return cases;
}

}  // namespace

Expr matmul(Expr a, Expr b, bool transpose_a, bool transpose_b) {
  return a.graph->add(std::make_shared<MatmulOp>(transpose_a, transpose_b), {a, b});
}

void register_matmul_ops(OpRegistry& r) {
  using namespace samples;
  OpSchema schema{"matmul",
                  "a (..., M, K) @ b (..., K, N) -> (..., M, N), batch dims broadcast (transpose_a, transpose_b)",
                  [](const Attributes& a) -> OpPtr {
                    return std::make_shared<MatmulOp>(a.get_int("matmul", "transpose_a", 0) != 0,
                                                      a.get_int("matmul", "transpose_b", 0) != 0);
                  },
                  matmul_samples(),
                  {shape_error({f64({2, 3}), f64({4, 5})}), shape_error({f64({3}), f64({3, 4})}),
                   shape_error({f64({2, 3, 4}), f64({3, 4, 5})})}};
  schema.bf16_kernel = true;
  r.add(std::move(schema));
}

}  // namespace attograd
