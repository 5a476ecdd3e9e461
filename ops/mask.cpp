#include "ops/mask.hpp"

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/broadcast_kernels.hpp"

namespace attograd {

void check_mask_type(const std::string& op, const TensorType& x, const TensorType& mask) {
  if (mask.dtype != x.dtype)
    throw ShapeError(fmt::format("[{}] mask must have the scores' dtype {}, got {}", op, dtype_name(x.dtype),
                                 dtype_name(mask.dtype)));
  Shape common;
  if (!broadcast_shapes(x.shape, mask.shape, common) || common != x.shape)
    throw ShapeError(
        fmt::format("[{}] mask {} does not broadcast to scores {}", op, to_string(mask.shape), to_string(x.shape)));
}

namespace {

DType mask_dtype(const std::string& op, const Attributes& a) {
  const std::string name = a.get_string(op, "dtype", "f32");
  if (name == "f32") return DType::f32;
  if (name == "f64") return DType::f64;
  throw Error(fmt::format("[{}] attribute 'dtype' must be f32 or f64, got '{}'", op, name));
}

// A node without inputs: the (1, T, T) lower triangle, computed at run time
// so the graph holds no T*T constant.
class SubsequentMaskOp final : public Op {
 public:
  SubsequentMaskOp(std::int64_t t, DType dtype) : t_(t), dtype_(dtype) {}
  std::string name() const override { return "subsequent_mask"; }
  std::string describe() const override { return fmt::format("T={}", t_); }
  TensorType infer(std::span<const TensorType> in) const override {
    if (!in.empty()) throw ShapeError(fmt::format("[subsequent_mask] takes no inputs, got {}", in.size()));
    if (t_ < 0) throw ShapeError(fmt::format("[subsequent_mask] T must be >= 0, got {}", t_));
    if (!is_floating(dtype_)) throw ShapeError("[subsequent_mask] needs a floating dtype");
    return {dtype_, {1, t_, t_}};
  }
  Tensor forward(OpContext& c) const override {
    Tensor out = c.allocate_output();
    visit_floating(dtype_, [&]<class T>(T) {
      T* p = out.data<T>();
      for (std::int64_t q = 0; q < t_; ++q)
        for (std::int64_t k = 0; k < t_; ++k) p[q * t_ + k] = k <= q ? T(1) : T(0);
    });
    return out;
  }
  std::vector<Tensor> backward(OpContext&) const override { return {}; }
  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    return {0, 0, double(numel(out.shape) * std::int64_t(dtype_size(dtype_))), 0};
  }

 private:
  std::int64_t t_;
  DType dtype_;
};

class PaddingMaskOp final : public Op {
 public:
  PaddingMaskOp(std::int32_t pad, DType dtype) : pad_(pad), dtype_(dtype) {}
  std::string name() const override { return "padding_mask"; }
  std::string describe() const override { return fmt::format("pad={}", pad_); }
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[padding_mask] takes 1 input, got {}", in.size()));
    if (in[0].dtype != DType::i32 || in[0].shape.size() != 2)
      throw ShapeError(fmt::format("[padding_mask] needs i32 ids of shape (B, S), got {}", to_string(in[0])));
    if (!is_floating(dtype_)) throw ShapeError("[padding_mask] needs a floating dtype");
    return {dtype_, {in[0].shape[0], 1, in[0].shape[1]}};
  }
  Tensor forward(OpContext& c) const override {
    const Tensor& ids = c.input(0);
    Tensor out = c.allocate_output();
    visit_floating(dtype_, [&]<class T>(T) {
      const std::int32_t* p = ids.data<std::int32_t>();
      T* o = out.data<T>();
      for (std::int64_t i = 0; i < ids.numel(); ++i) o[i] = p[i] != pad_ ? T(1) : T(0);
    });
    return out;
  }
  std::vector<Tensor> backward(OpContext&) const override { return {Tensor()}; }
  bool differentiable(std::size_t) const override { return false; }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }

 private:
  std::int32_t pad_;
  DType dtype_;
};

class MaskedFillOp final : public Op {
 public:
  explicit MaskedFillOp(double value) : value_(value) {}
  std::string name() const override { return "masked_fill"; }
  std::string describe() const override { return fmt::format("value={}", value_); }
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 2) throw ShapeError(fmt::format("[masked_fill] takes 2 inputs, got {}", in.size()));
    if (!is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[masked_fill] needs a floating input, got {}", dtype_name(in[0].dtype)));
    check_mask_type("masked_fill", in[0], in[1]);
    return in[0];
  }
  Tensor forward(OpContext& c) const override { return select(c, c.input(0), c.input(1), value_); }
  // out = x where kept, else a constant: d out / dx = [mask != 0].
  std::vector<Tensor> backward(OpContext& c) const override {
    return {select(c, c.grad_output(), c.input(1), 0.0), Tensor()};
  }
  bool differentiable(std::size_t input) const override { return input == 0; }
  bool backward_reads_input(std::size_t input) const override { return input == 1; }
  bool backward_reads_output() const override { return false; }
  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = double(numel(out.shape)), e = double(dtype_size(out.dtype));
    const double m = double(numel(in[1].shape)) * e;
    return {n, n, 2 * n * e + m, 2 * n * e + m};
  }

 private:
  // x where mask != 0, else `fill` (mask broadcast to x's shape).
  static Tensor select(const OpContext& c, const Tensor& x, const Tensor& mask, double fill) {
    Tensor out = Tensor::empty(x.dtype(), x.shape());
    visit_floating(x.dtype(), [&]<class T>(T) {
      const T f = static_cast<T>(fill);
      kernels::binary_broadcast<T>(c, x.data<T>(), x.shape(), mask.data<T>(), mask.shape(), out.data<T>(), x.shape(),
                                   [f](T v, T m) { return m != T(0) ? v : f; });
    });
    return out;
  }

  double value_;
};

}  // namespace

Expr subsequent_mask(Graph& g, std::int64_t T) { return g.add(std::make_shared<SubsequentMaskOp>(T, g.dtype()), {}); }
Expr padding_mask(Expr ids, std::int32_t pad) {
  return ids.graph->add(std::make_shared<PaddingMaskOp>(pad, ids.graph->dtype()), {ids});
}
Expr masked_fill(Expr x, Expr mask, double value) {
  return x.graph->add(std::make_shared<MaskedFillOp>(value), {x, mask});
}

void register_mask_ops(OpRegistry& r) {
  using namespace samples;
  const std::string f64_name = "f64";
  r.add({"subsequent_mask",
         "(1, T, T) causal mask, 1 where key <= query (attributes T, dtype)",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<SubsequentMaskOp>(a.get_int("subsequent_mask", "T"),
                                                     mask_dtype("subsequent_mask", a));
         },
         {sample({}, {{"T", std::int64_t{4}}}), sample({}, {{"T", std::int64_t{1}}, {"dtype", f64_name}}),
          sample({}, {{"T", std::int64_t{0}}})},
         {shape_error({}, {{"T", std::int64_t{-1}}}), shape_error({f64({2})}, {{"T", std::int64_t{2}}})}});
  r.add({"padding_mask",
         "ids i32 (B, S) -> (B, 1, S), 1 where ids != pad (attributes pad, dtype)",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<PaddingMaskOp>(static_cast<std::int32_t>(a.get_int("padding_mask", "pad", 0)),
                                                  mask_dtype("padding_mask", a));
         },
         {sample({ids({2, 3}, {5, 7, 0, 0, 2, 0})}),
          sample({ids({1, 4}, {2, 2, 1, 3})}, {{"pad", std::int64_t{2}}, {"dtype", f64_name}})},
         {shape_error({f32({2, 3})}), shape_error({i32({6})})}});
  // Masks that broadcast over rows, over trailing axes, and a single kept element.
  r.add({"masked_fill",
         "x where mask != 0, else attribute value; mask broadcasts to x",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<MaskedFillOp>(a.get_double("masked_fill", "value"));
         },
         {sample({uniform({2, 3}), mask({1, 3}, {1, 0, 1})}, {{"value", -5.0}}),
          sample({uniform({2, 2, 2}), mask({2, 1, 1}, {0, 1})}, {{"value", 2.0}}),
          sample({uniform({1}), mask({1}, {1})}, {{"value", 0.0}})},
         {shape_error({f64({2, 3}), f64({2})}, {{"value", 0.0}}),
          shape_error({f64({2, 3}), f32({3})}, {{"value", 0.0}})}});
}

}  // namespace attograd
