// Deliberately broken plugins for tests/engine/test_plugin.cpp. One source,
// built once per BROKEN_* macro (meson.build next to this file). Every one
// that gets as far as registering adds a valid op "plugin_square" first, so
// the tests also see that a refused plugin registers nothing at all.
#include <cmath>
#include <memory>
#include <stdexcept>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/plugin_api.hpp"

namespace {

using namespace attograd;

// out = x^2; backward 2 g x, or g x when `wrong` (half the true gradient).
class SquareOp final : public Op {
 public:
  SquareOp(std::string name, bool wrong) : name_(std::move(name)), wrong_(wrong) {}
  std::string name() const override { return name_; }
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1 || !is_floating(in[0].dtype)) throw ShapeError("[" + name_ + "] takes one floating input");
    return in[0];
  }
  Tensor forward(OpContext& ctx) const override { return map(ctx.input(0), ctx.input(0), 1.0); }
  std::vector<Tensor> backward(OpContext& ctx) const override {
    return {map(ctx.grad_output(), ctx.input(0), wrong_ ? 1.0 : 2.0)};
  }

 private:
  // k * a * b elementwise, for tensors of one shape.
  static Tensor map(const Tensor& a, const Tensor& b, double k) {
    Tensor out = Tensor::empty(a.dtype(), a.shape());
    visit_floating(a.dtype(), [&]<class T>(T) {
      for (std::int64_t i = 0; i < a.numel(); ++i) out.data<T>()[i] = T(k) * a.data<T>()[i] * b.data<T>()[i];
    });
    return out;
  }
  std::string name_;
  bool wrong_;
};

// differentiable = false: the sample's input is fed but its gradient never checked.
[[maybe_unused]] OpSchema square(const std::string& name, bool wrong_backward = false, bool differentiable = true) {
  OpSchema op;
  op.name = name;
  op.summary = "x^2";
  op.factory = [name, wrong_backward](const Attributes&) -> OpPtr {
    return std::make_shared<SquareOp>(name, wrong_backward);
  };
  GradcheckInput x;
  x.shape = {2, 3};
  x.differentiable = differentiable;
  op.samples = {OpSample{{x}, {}}};
  return op;
}

}  // namespace

#if defined(BROKEN_WRONG_ABI) || defined(BROKEN_WRONG_COMPILER)
// Entry points written by hand, with a stamp that does not match the host's.
ATTOGRAD_PLUGIN_EXPORT const attograd::AbiStamp* attograd_plugin_abi() {
  static constexpr attograd::AbiStamp stamp = [] {
    attograd::AbiStamp s = attograd::abi_stamp_here();
#if defined(BROKEN_WRONG_ABI)
    s.version += 1000;
#else
    s.compiler_major += 1;  // as if built by the next compiler release
#endif
    return s;
  }();
  return &stamp;
}
ATTOGRAD_PLUGIN_EXPORT void attograd_plugin_register(attograd::PluginRegistrar& registrar) {
  registrar.add(square("plugin_square"));
}

#elif defined(BROKEN_NO_REGISTER)
// Only the stamp; attograd_plugin_register is missing.
ATTOGRAD_PLUGIN_EXPORT const attograd::AbiStamp* attograd_plugin_abi() {
  static constexpr attograd::AbiStamp stamp = attograd::abi_stamp_here();
  return &stamp;
}

#elif defined(BROKEN_NEWER_ENGINE)
// As if built against a later attograd that has this function.
namespace attograd {
void function_of_a_newer_attograd();
}
ATTOGRAD_PLUGIN(registrar) {
  attograd::function_of_a_newer_attograd();
  registrar.add(square("plugin_square"));
}

#else
ATTOGRAD_PLUGIN(registrar) {
  registrar.add(square("plugin_square"));
#if defined(BROKEN_NAME_CLASH)
  registrar.add(square("add"));  // a built-in op's name
#elif defined(BROKEN_BAD_BACKWARD)
  registrar.add(square("bad_square", true));
#elif defined(BROKEN_NOTHING_CHECKED)
  registrar.add(square("unchecked_square", true, false));  // a wrong backward its sample never checks
#elif defined(BROKEN_ACCEPTED_SHAPE_ERROR)
  OpSchema lenient = square("lenient_square");
  lenient.shape_errors = {OpShapeErrorSample{{TensorType{DType::f64, {2, 3}}}, {}}};  // a valid input: accepted
  registrar.add(std::move(lenient));
#elif defined(BROKEN_THROWING)
  throw std::runtime_error("the registrar exploded");
#elif defined(BROKEN_DEBUG_CONTAINERS)
  // Nothing more: built with -D_GLIBCXX_DEBUG, its calls into the engine
  // (Tensor::empty(DType, Shape), ...) name std::__debug::vector.
#else
#error "build with one of the BROKEN_* macros"
#endif
}
#endif
