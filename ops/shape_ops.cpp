#include "ops/shape_ops.hpp"

#include <numeric>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"

namespace attograd {
namespace {

class ReshapeOp final : public Op {
 public:
  explicit ReshapeOp(Shape shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "reshape"; }
  std::string describe() const override { return to_string(shape_); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[reshape] takes 1 input, got {}", in.size()));
    Shape out = shape_;
    std::int64_t known = 1;
    int unknown = -1;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == -1) {
        if (unknown >= 0) throw ShapeError(fmt::format("[reshape] target {} has more than one -1", to_string(shape_)));
        unknown = static_cast<int>(i);
      } else if (out[i] < 0) {
        throw ShapeError(fmt::format("[reshape] target {} has a negative dimension", to_string(shape_)));
      } else {
        known *= out[i];
      }
    }
    const std::int64_t n = numel(in[0].shape);
    if (unknown >= 0) {
      if (known == 0 || n % known != 0)
        throw ShapeError(fmt::format("[reshape] cannot reshape {} into {}", to_string(in[0].shape), to_string(shape_)));
      out[static_cast<std::size_t>(unknown)] = n / known;
    }
    if (numel(out) != n)
      throw ShapeError(fmt::format("[reshape] cannot reshape {} ({} elements) into {}", to_string(in[0].shape), n,
                                   to_string(shape_)));
    return {in[0].dtype, out};
  }
  Tensor forward(OpContext& c) const override { return c.input(0).reshaped(c.output_type().shape); }
  std::vector<Tensor> backward(OpContext& c) const override {
    return {c.grad_output().reshaped(c.input(0).shape())};
  }
  bool backward_reads_output() const override { return false; }

 private:
  Shape shape_;
};

// out[i0..in] = x[...] with out axis k = x axis perm[k]. Each task walks
// its rows of the output (all axes but the last) with an odometer over the
// output's leading axes, so a row's source offset costs an add, not a
// division per axis; a last axis that stays last is one contiguous copy.
template <class T>
void permute_kernel(const OpContext& ctx, const T* x, const Shape& x_shape, const std::vector<int>& perm, T* out) {
  const std::size_t rank = perm.size();
  const Shape xs = contiguous_strides(x_shape);
  Shape out_shape(rank), src_stride(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    out_shape[k] = x_shape[static_cast<std::size_t>(perm[k])];
    src_stride[k] = xs[static_cast<std::size_t>(perm[k])];
  }
  const std::int64_t n = numel(out_shape);
  if (n == 0) return;
  const std::int64_t inner = rank ? out_shape[rank - 1] : 1;
  const std::int64_t inner_stride = rank ? src_stride[rank - 1] : 0;
  const std::size_t lead = rank ? rank - 1 : 0;  // the axes a row index runs over
  const std::int64_t rows = n / inner;
  ctx.parallel_for(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(inner, 1)),
                   [&](std::int64_t lo, std::int64_t hi) {
                     // The odometer: index of row `lo` along each leading axis, and its source offset.
                     std::vector<std::int64_t> index(lead);
                     std::int64_t src = 0;
                     for (std::size_t d = lead, r = std::size_t(lo); d-- > 0;) {
                       index[d] = std::int64_t(r) % out_shape[d];
                       src += index[d] * src_stride[d];
                       r /= std::size_t(out_shape[d]);
                     }
                     for (std::int64_t row = lo; row < hi; ++row) {
                       T* o = out + row * inner;
                       if (inner_stride == 1) std::copy(x + src, x + src + inner, o);
                       else for (std::int64_t k = 0; k < inner; ++k) o[k] = x[src + k * inner_stride];
                       for (std::size_t d = lead; d-- > 0;) {  // next row: carry through the axes
                         src += src_stride[d];
                         if (++index[d] < out_shape[d]) break;
                         src -= index[d] * src_stride[d];
                         index[d] = 0;
                       }
                     }
                   });
}

class PermuteOp final : public Op {
 public:
  explicit PermuteOp(std::vector<std::int64_t> perm) : perm_(std::move(perm)) {}
  std::string name() const override { return "permute"; }
  std::string describe() const override { return fmt::format("perm=[{}]", fmt::join(perm_, ",")); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[permute] takes 1 input, got {}", in.size()));
    const std::vector<int> p = normalized(in[0].shape.size());
    Shape out(p.size());
    for (std::size_t k = 0; k < p.size(); ++k) out[k] = in[0].shape[static_cast<std::size_t>(p[k])];
    return {in[0].dtype, out};
  }
  Tensor forward(OpContext& c) const override { return run(c, c.input(0), normalized(c.input(0).rank())); }
  std::vector<Tensor> backward(OpContext& c) const override {
    const std::vector<int> p = normalized(c.grad_output().rank());
    std::vector<int> inverse(p.size());
    for (std::size_t k = 0; k < p.size(); ++k) inverse[static_cast<std::size_t>(p[k])] = static_cast<int>(k);
    return {run(c, c.grad_output(), inverse)};
  }
  bool backward_reads_output() const override { return false; }
  bool backward_reads_input(std::size_t) const override { return false; }
  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double b = static_cast<double>(numel(out.shape) * static_cast<std::int64_t>(dtype_size(out.dtype)));
    return {0, 0, 2 * b, 2 * b};
  }

 private:
  static Tensor run(const OpContext& c, const Tensor& x, const std::vector<int>& p) {
    Shape out_shape(p.size());
    for (std::size_t k = 0; k < p.size(); ++k) out_shape[k] = x.shape()[static_cast<std::size_t>(p[k])];
    Tensor out = Tensor::empty(x.dtype(), out_shape);
    auto go = [&]<class T>(T) { permute_kernel<T>(c, x.data<T>(), x.shape(), p, out.data<T>()); };
    if (x.dtype() == DType::i32) go(std::int32_t{});
    else visit_floating(x.dtype(), go);
    return out;
  }
  std::vector<int> normalized(std::size_t rank) const {
    if (perm_.size() != rank)
      throw ShapeError(fmt::format("[permute] permutation [{}] has {} entries for rank {}", fmt::join(perm_, ","),
                                   perm_.size(), rank));
    std::vector<int> p;
    std::vector<bool> seen(rank, false);
    for (auto a : perm_) {
      const int axis = normalize_axis(a, rank, "permute");
      if (seen[static_cast<std::size_t>(axis)])
        throw ShapeError(fmt::format("[permute] [{}] is not a permutation", fmt::join(perm_, ",")));
      seen[static_cast<std::size_t>(axis)] = true;
      p.push_back(axis);
    }
    return p;
  }

  std::vector<std::int64_t> perm_;
};

}  // namespace

Expr reshape(Expr x, Shape shape) { return x.graph->add(std::make_shared<ReshapeOp>(std::move(shape)), {x}); }
Expr permute(Expr x, std::vector<std::int64_t> perm) {
  return x.graph->add(std::make_shared<PermuteOp>(std::move(perm)), {x});
}
Expr transpose(Expr x, std::int64_t a, std::int64_t b) {
  const std::size_t rank = x.rank();
  const int ia = normalize_axis(a, rank, "transpose"), ib = normalize_axis(b, rank, "transpose");
  std::vector<std::int64_t> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[static_cast<std::size_t>(ia)], perm[static_cast<std::size_t>(ib)]);
  return permute(x, perm);
}

void register_shape_ops(OpRegistry& r) {
  using namespace samples;
  using Ints = std::vector<std::int64_t>;
  // Size-1 dims, rank changes and an inferred -1.
  r.add({"reshape", "same elements in a new shape (attribute shape, one entry may be -1)",
         [](const Attributes& a) -> OpPtr { return std::make_shared<ReshapeOp>(a.get_ints("reshape", "shape", {})); },
         {sample({uniform({2, 6})}, {{"shape", Ints{4, 3}}}), sample({uniform({6})}, {{"shape", Ints{1, 3, 1, 2}}}),
          sample({uniform({2, 3})}, {{"shape", Ints{3, -1}}})},
         {shape_error({f64({2, 3})}, {{"shape", Ints{4, -1}}}), shape_error({f64({2, 3})}, {{"shape", Ints{5}}})}});
  // The attention head split (B,T,H,K) -> (B,H,T,K), a last axis that moves,
  // a scalar, one axis, an empty axis, and token ids.
  r.add({"permute", "reorders axes: out.shape[i] = x.shape[perm[i]] (attribute perm)",
         [](const Attributes& a) -> OpPtr { return std::make_shared<PermuteOp>(a.get_ints("permute", "perm", {})); },
         {sample({uniform({2, 3, 2, 2})}, {{"perm", Ints{0, 2, 1, 3}}}),
          sample({uniform({2, 3, 4})}, {{"perm", Ints{1, 2, 0}}}), sample({uniform({})}, {{"perm", Ints{}}}),
          sample({uniform({5})}, {{"perm", Ints{0}}}), sample({uniform({0, 3})}, {{"perm", Ints{1, 0}}}),
          sample({ids({2, 3}, {1, 2, 3, 4, 5, 6})}, {{"perm", Ints{1, 0}}})},
         {shape_error({f64({2, 3})}, {{"perm", Ints{0, 0}}}), shape_error({f64({2, 3})}, {{"perm", Ints{0}}})}});
}

}  // namespace attograd
