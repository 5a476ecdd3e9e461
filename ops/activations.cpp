#include "ops/activations.hpp"

#include <cmath>
#include <numbers>
#include <type_traits>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/broadcast_kernels.hpp"

namespace attograd {
namespace {

// Each function is a policy: its value f(x), its derivative df(v) written in
// terms of the input (v = x) or of the output (v = y) as `from_output` says,
// and a rough flop count per element for the profiler.

// GELU, exact: f = x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2, so
// f' = Phi(x) + x phi(x) with phi(x) = e^(-x^2/2) / sqrt(2 pi).
struct GeluErf {
  static constexpr const char* name = "gelu";
  static constexpr double inv_sqrt2 = 1 / std::numbers::sqrt2;
  static constexpr double inv_sqrt_2pi = std::numbers::inv_sqrtpi / std::numbers::sqrt2;
  static constexpr bool from_output = false;
  static constexpr double flops = 12;
  template <class T> static T f(T x) { return T(0.5) * x * (T(1) + std::erf(x * T(inv_sqrt2))); }
  template <class T> static T df(T x) {
    const T phi = std::exp(T(-0.5) * x * x) * T(inv_sqrt_2pi);
    return T(0.5) * (T(1) + std::erf(x * T(inv_sqrt2))) + x * phi;
  }
};

// GELU, tanh form (Hendrycks & Gimpel 2016; GPT-2): f = x (1 + tanh u) / 2 with
// u = c (x + a x^3), c = sqrt(2/pi), a = 0.044715. With t = tanh u:
// f' = (1 + t) / 2 + x (1 - t^2) c (1 + 3 a x^2) / 2.
struct GeluTanh {
  static constexpr const char* name = "gelu";
  static constexpr bool from_output = false;
  static constexpr double flops = 12;
  static constexpr double c = std::numbers::sqrt2 * std::numbers::inv_sqrtpi, a = 0.044715;
  template <class T> static T f(T x) { return T(0.5) * x * (T(1) + std::tanh(T(c) * (x + T(a) * x * x * x))); }
  template <class T> static T df(T x) {
    const T t = std::tanh(T(c) * (x + T(a) * x * x * x));
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(c) * (T(1) + T(3 * a) * x * x);
  }
};

struct Tanh {
  static constexpr const char* name = "tanh";
  static constexpr bool from_output = true;
  static constexpr double flops = 6;
  template <class T> static T f(T x) { return std::tanh(x); }
  template <class T> static T df(T y) { return T(1) - y * y; }
};

// Written so that exp never overflows: for x < 0, e^x / (1 + e^x).
struct Sigmoid {
  static constexpr const char* name = "sigmoid";
  static constexpr bool from_output = true;
  static constexpr double flops = 4;
  template <class T> static T f(T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
  template <class T> static T df(T y) { return y * (T(1) - y); }
};

struct Sqrt {
  static constexpr const char* name = "sqrt";
  static constexpr bool from_output = true;
  static constexpr double flops = 1;
  template <class T> static T f(T x) { return std::sqrt(x); }
  template <class T> static T df(T y) { return T(0.5) / y; }
};

// d(x^-1/2)/dx = -x^(-3/2) / 2 = -y^3 / 2.
struct Rsqrt {
  static constexpr const char* name = "rsqrt";
  static constexpr bool from_output = true;
  static constexpr double flops = 2;
  template <class T> static T f(T x) { return T(1) / std::sqrt(x); }
  template <class T> static T df(T y) { return T(-0.5) * y * y * y; }
};

template <class Fn>
class PointwiseOp final : public Op {
 public:
  std::string name() const override { return Fn::name; }
  std::string describe() const override {
    return std::is_same_v<Fn, GeluTanh> ? "approximate=tanh" : "";
  }
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[{}] takes 1 input, got {}", name(), in.size()));
    if (!is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[{}] needs a floating input, got {}{}", name(), dtype_name(in[0].dtype),
                                   to_string(in[0].shape)));
    return in[0];
  }
  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    Tensor out = Tensor::empty(x.dtype(), x.shape());
    visit_floating(x.dtype(), [&]<class T>(T) {
      kernels::unary_map<T>(c, x.data<T>(), out.data<T>(), x.numel(), [](T v) { return Fn::f(v); });
    });
    return out;
  }
  // dL/dx = g * f'(v), v = y or x.
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    const Tensor& v = Fn::from_output ? c.output() : c.input(0);
    Tensor dx = Tensor::empty(g.dtype(), g.shape());
    visit_floating(g.dtype(), [&]<class T>(T) {
      kernels::binary_broadcast<T>(c, g.data<T>(), g.shape(), v.data<T>(), v.shape(), dx.data<T>(), g.shape(),
                                   [](T gi, T vi) { return gi * Fn::df(vi); });
    });
    return {dx};
  }
  bool backward_reads_input(std::size_t) const override { return !Fn::from_output; }
  bool backward_reads_output() const override { return Fn::from_output; }
  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    return {Fn::flops * n, (Fn::flops + 1) * n, 2 * n * e, 3 * n * e};
  }
};

template <class Fn> OpPtr make() { return std::make_shared<PointwiseOp<Fn>>(); }

// A vector, a rank-3 stack and a scalar, with values in [low, high).
std::vector<OpSample> activation_samples(double low, double high, const Attributes& attributes = {}) {
  std::vector<OpSample> out;
  for (const Shape& s : {Shape{7}, Shape{2, 3, 4}, Shape{}})
    out.push_back(samples::sample({samples::uniform(s, low, high)}, attributes));
  return out;
}

}  // namespace

Expr gelu(Expr x, bool tanh_approximation) {
  return x.graph->add(tanh_approximation ? make<GeluTanh>() : make<GeluErf>(), {x});
}
Expr tanh(Expr x) { return x.graph->add(make<Tanh>(), {x}); }
Expr sigmoid(Expr x) { return x.graph->add(make<Sigmoid>(), {x}); }
Expr sqrt(Expr x) { return x.graph->add(make<Sqrt>(), {x}); }
Expr rsqrt(Expr x) { return x.graph->add(make<Rsqrt>(), {x}); }

void register_activation_ops(OpRegistry& r) {
  using namespace samples;
  const std::vector<OpShapeErrorSample> errors = {shape_error({i32({2, 3})})};
  std::vector<OpSample> gelu_samples = activation_samples(-3, 3);
  for (OpSample& s : activation_samples(-3, 3, {{"approximate", std::string("tanh")}})) gelu_samples.push_back(s);
  r.add({"gelu", "x * Phi(x) (attribute approximate: \"none\" or \"tanh\")",
         [](const Attributes& a) -> OpPtr {
           const std::string approx = a.get_string("gelu", "approximate", "none");
           if (approx != "none" && approx != "tanh")
             throw Error(fmt::format("[gelu] attribute 'approximate' must be \"none\" or \"tanh\", got \"{}\"", approx));
           return approx == "tanh" ? make<GeluTanh>() : make<GeluErf>();
         },
         gelu_samples, errors});
  r.add({"tanh", "hyperbolic tangent of x", [](const Attributes&) { return make<Tanh>(); }, activation_samples(-3, 3),
         errors});
  r.add({"sigmoid", "1 / (1 + e^-x)", [](const Attributes&) { return make<Sigmoid>(); }, activation_samples(-6, 6),
         errors});
  r.add({"sqrt", "square root of x", [](const Attributes&) { return make<Sqrt>(); }, activation_samples(0.2, 3),
         errors});
  r.add({"rsqrt", "1 / sqrt(x)", [](const Attributes&) { return make<Rsqrt>(); }, activation_samples(0.2, 3), errors});
}

}  // namespace attograd
