#include "ops/elementwise.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/broadcast_kernels.hpp"

namespace attograd {
namespace {

using kernels::binary_broadcast;
using kernels::unary_map;

// --- binary ------------------------------------------------------------------

// Applies f elementwise to two broadcast tensors of the same floating dtype.
template <class F>
Tensor binary(const OpContext& ctx, const Tensor& a, const Tensor& b, const Shape& out_shape, F f) {
  Tensor out = Tensor::empty(a.dtype(), out_shape);
  visit_floating(a.dtype(), [&]<class T>(T) {
    binary_broadcast<T>(ctx, a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.data<T>(), out_shape,
                        [&](T x, T y) { return static_cast<T>(f(x, y)); });
  });
  return out;
}

class BinaryOp : public Op {
 public:
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 2) throw ShapeError(fmt::format("[{}] takes 2 inputs, got {}", name(), in.size()));
    if (in[0].dtype != in[1].dtype || !is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[{}] inputs must share one floating dtype, got {} and {}", name(),
                                   dtype_name(in[0].dtype), dtype_name(in[1].dtype)));
    Shape out;
    if (!broadcast_shapes(in[0].shape, in[1].shape, out))
      throw ShapeError(fmt::format("[{}] shapes {} and {} do not broadcast", name(), to_string(in[0].shape),
                                   to_string(in[1].shape)));
    return {in[0].dtype, out};
  }
  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    const double read = static_cast<double>(numel(in[0].shape) + numel(in[1].shape)) * e;
    return {n, 2 * n, read + n * e, read + 3 * n * e};
  }
};

class AddOp final : public BinaryOp {
 public:
  std::string name() const override { return "add"; }
  Tensor forward(OpContext& c) const override {
    return binary(c, c.input(0), c.input(1), c.output_type().shape, [](auto x, auto y) { return x + y; });
  }
  std::vector<Tensor> backward(OpContext& c) const override { return {c.grad_output(), c.grad_output()}; }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }
};

class SubOp final : public BinaryOp {
 public:
  std::string name() const override { return "sub"; }
  Tensor forward(OpContext& c) const override {
    return binary(c, c.input(0), c.input(1), c.output_type().shape, [](auto x, auto y) { return x - y; });
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    Tensor gb;
    if (c.needs_grad(1)) gb = binary(c, g, g, g.shape(), [](auto x, auto) { return -x; });
    return {g, gb};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }
};

class MulOp final : public BinaryOp {
 public:
  std::string name() const override { return "mul"; }
  Tensor forward(OpContext& c) const override {
    return binary(c, c.input(0), c.input(1), c.output_type().shape, [](auto x, auto y) { return x * y; });
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    auto times = [](auto x, auto y) { return x * y; };
    return {c.needs_grad(0) ? binary(c, g, c.input(1), g.shape(), times) : Tensor(),
            c.needs_grad(1) ? binary(c, g, c.input(0), g.shape(), times) : Tensor()};
  }
  bool backward_reads_output() const override { return false; }
};

class DivOp final : public BinaryOp {
 public:
  std::string name() const override { return "div"; }
  Tensor forward(OpContext& c) const override {
    return binary(c, c.input(0), c.input(1), c.output_type().shape, [](auto x, auto y) { return x / y; });
  }
  // d(a/b)/da = 1/b;  d(a/b)/db = -a/b^2 = -out/b.
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    Tensor ga, gb;
    if (c.needs_grad(0)) ga = binary(c, g, c.input(1), g.shape(), [](auto x, auto y) { return x / y; });
    if (c.needs_grad(1)) {
      Tensor g_out = binary(c, g, c.output(), g.shape(), [](auto x, auto y) { return -x * y; });
      gb = binary(c, g_out, c.input(1), g.shape(), [](auto x, auto y) { return x / y; });
    }
    return {ga, gb};
  }
  bool backward_reads_input(std::size_t i) const override { return i == 1; }
};

// --- unary -------------------------------------------------------------------

class UnaryOp : public Op {
 public:
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[{}] takes 1 input, got {}", name(), in.size()));
    if (!is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[{}] needs a floating input, got {}", name(), dtype_name(in[0].dtype)));
    return in[0];
  }
  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    return {n, 2 * n, 2 * n * e, 3 * n * e};
  }

 protected:
  template <class F> static Tensor map(const OpContext& c, const Tensor& x, F f) {
    Tensor out = Tensor::empty(x.dtype(), x.shape());
    visit_floating(x.dtype(), [&]<class T>(T) {
      unary_map<T>(c, x.data<T>(), out.data<T>(), x.numel(), [&](T v) { return static_cast<T>(f(v)); });
    });
    return out;
  }
  // out[i] = f(a[i], b[i]) for two tensors of one shape.
  template <class F> static Tensor zip(const OpContext& c, const Tensor& a, const Tensor& b, F f) {
    return binary(c, a, b, a.shape(), f);
  }
};

class NegOp final : public UnaryOp {
 public:
  std::string name() const override { return "neg"; }
  Tensor forward(OpContext& c) const override { return map(c, c.input(0), [](auto v) { return -v; }); }
  std::vector<Tensor> backward(OpContext& c) const override {
    return {map(c, c.grad_output(), [](auto v) { return -v; })};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }
};

class ExpOp final : public UnaryOp {
 public:
  std::string name() const override { return "exp"; }
  Tensor forward(OpContext& c) const override { return map(c, c.input(0), [](auto v) { return std::exp(v); }); }
  std::vector<Tensor> backward(OpContext& c) const override {
    return {zip(c, c.grad_output(), c.output(), [](auto g, auto y) { return g * y; })};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
};

class LogOp final : public UnaryOp {
 public:
  std::string name() const override { return "log"; }
  Tensor forward(OpContext& c) const override { return map(c, c.input(0), [](auto v) { return std::log(v); }); }
  std::vector<Tensor> backward(OpContext& c) const override {
    return {zip(c, c.grad_output(), c.input(0), [](auto g, auto x) { return g / x; })};
  }
  bool backward_reads_output() const override { return false; }
};

class ReluOp final : public UnaryOp {
 public:
  std::string name() const override { return "relu"; }
  Tensor forward(OpContext& c) const override {
    return map(c, c.input(0), [](auto v) { return v > 0 ? v : decltype(v)(0); });
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    return {zip(c, c.grad_output(), c.output(), [](auto g, auto y) { return y > 0 ? g : decltype(g)(0); })};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
};

class ScaleOp final : public UnaryOp {
 public:
  explicit ScaleOp(double s) : s_(s) {}
  std::string name() const override { return "scale"; }
  std::string describe() const override { return fmt::format("s={}", s_); }
  Tensor forward(OpContext& c) const override {
    return map(c, c.input(0), [s = s_](auto v) { return v * static_cast<decltype(v)>(s); });
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    return {map(c, c.grad_output(), [s = s_](auto v) { return v * static_cast<decltype(v)>(s); })};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }

 private:
  double s_;
};

template <class OpT> Expr make1(Expr x) { return x.graph->add(std::make_shared<OpT>(), {x}); }
template <class OpT> Expr make2(Expr a, Expr b) { return a.graph->add(std::make_shared<OpT>(), {a, b}); }

}  // namespace

Expr add(Expr a, Expr b) { return make2<AddOp>(a, b); }
Expr sub(Expr a, Expr b) { return make2<SubOp>(a, b); }
Expr mul(Expr a, Expr b) { return make2<MulOp>(a, b); }
Expr div(Expr a, Expr b) { return make2<DivOp>(a, b); }
Expr neg(Expr x) { return make1<NegOp>(x); }
Expr exp(Expr x) { return make1<ExpOp>(x); }
Expr log(Expr x) { return make1<LogOp>(x); }
Expr relu(Expr x) { return make1<ReluOp>(x); }
Expr scale(Expr x, double s) { return x.graph->add(std::make_shared<ScaleOp>(s), {x}); }

void register_elementwise_ops(OpRegistry& r) {
  using namespace samples;
  // Broadcasting either way and from a scalar; b >= 0.5 keeps div finite.
  std::vector<OpSample> binary;
  for (const auto& [a, b] : std::vector<std::pair<Shape, Shape>>{
           {{3}, {3}}, {{2, 3}, {3}}, {{2, 1, 4}, {3, 1}}, {{1}, {2, 2}}, {{}, {2, 3}}})
    binary.push_back(sample({uniform(a), uniform(b, 0.5, 2)}));
  const std::vector<OpShapeErrorSample> binary_errors = {shape_error({f64({2, 3}), f64({2})}),
                                                         shape_error({f64({2, 3}), f32({2, 3})})};
  // |x| >= 0.1 on either side, away from relu's kink at 0; log takes x > 0.
  std::vector<OpSample> positive, unary;
  for (const Shape& s : {Shape{5}, Shape{2, 3}, Shape{1, 1}}) {
    positive.push_back(sample({uniform(s, 0.1, 2)}));
    unary.push_back(sample({uniform(s, 0.1, 2)}));
    unary.push_back(sample({uniform(s, -2, -0.1)}));
  }
  const std::vector<OpShapeErrorSample> unary_errors = {shape_error({i32({2, 3})})};

  auto simple = [&r](const char* name, const char* summary, auto make, std::vector<OpSample> cases,
                     std::vector<OpShapeErrorSample> errors) {
    r.add({name, summary, [make](const Attributes&) -> OpPtr { return make(); }, std::move(cases),
           std::move(errors)});
  };
  simple("add", "a + b with broadcasting", [] { return std::make_shared<AddOp>(); }, binary, binary_errors);
  simple("sub", "a - b with broadcasting", [] { return std::make_shared<SubOp>(); }, binary, binary_errors);
  simple("mul", "a * b with broadcasting", [] { return std::make_shared<MulOp>(); }, binary, binary_errors);
  simple("div", "a / b with broadcasting", [] { return std::make_shared<DivOp>(); }, binary, binary_errors);
  simple("neg", "-x", [] { return std::make_shared<NegOp>(); }, unary, unary_errors);
  simple("exp", "e^x", [] { return std::make_shared<ExpOp>(); }, unary, unary_errors);
  simple("log", "natural log of x", [] { return std::make_shared<LogOp>(); }, positive, unary_errors);
  simple("relu", "max(x, 0)", [] { return std::make_shared<ReluOp>(); }, unary, unary_errors);
  std::vector<OpSample> scaled = unary;
  for (OpSample& s : scaled) s.attributes = {{"s", 2.5}};
  r.add({"scale", "s * x (attribute s)",
         [](const Attributes& a) -> OpPtr { return std::make_shared<ScaleOp>(a.get_double("scale", "s")); }, scaled,
         {shape_error({i32({2, 3})}, {{"s", 2.5}})}});
}

}  // namespace attograd
