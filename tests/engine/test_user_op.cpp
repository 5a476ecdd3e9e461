// An op defined in the user's own code: no file in ops/, no edit of attograd.
// The test writes an Op subclass and its builder, registers it with a registry
// explicitly, trains with it, gradchecks it and profiles it — the template for
// README.md's "In-process ops".
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "train/optimizer.hpp"
#include "profile/profile_report.hpp"
#include "profile/profiler.hpp"
#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), which never overflows.
// d softplus / dx = sigmoid(x) = e^x / (1 + e^x).
template <class T> T softplus(T x) { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); }
template <class T> T sigmoid(T x) {
  const T e = std::exp(-std::abs(x));
  return x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// x (any shape) -> softplus(x) (same shape), element by element.
class UserSoftplus final : public Op {
 public:
  std::string name() const override { return "user_softplus"; }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1 || !is_floating(in[0].dtype))
      throw ShapeError("[user_softplus] takes one floating input, got " + std::to_string(in.size()) + " inputs");
    return in[0];
  }

  Tensor forward(OpContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor out = ctx.allocate_output();
    visit_floating(x.dtype(), [&]<class T>(T) {
      const T* in = x.data<T>();
      T* o = out.data<T>();
      ctx.parallel_for(x.numel(), 4096, [=](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) o[i] = softplus(in[i]);
      });
    });
    return out;
  }

  std::vector<Tensor> backward(OpContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor grad_x = Tensor::empty(x.dtype(), x.shape());
    visit_floating(x.dtype(), [&]<class T>(T) {
      const T* in = x.data<T>();
      const T* g = ctx.grad_output().data<T>();
      T* d = grad_x.data<T>();
      ctx.parallel_for(x.numel(), 4096, [=](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) d[i] = g[i] * sigmoid(in[i]);
      });
    });
    return {grad_x};
  }

  Cost cost(std::span<const TensorType> in, const TensorType&) const override {
    const double n = static_cast<double>(numel(in[0].shape)), e = static_cast<double>(dtype_size(in[0].dtype));
    return {4 * n, 4 * n, 2 * n * e, 3 * n * e};
  }
  bool backward_reads_output() const override { return false; }
};

// The builder a user's model calls, like attograd's own relu(x).
Expr user_softplus(Expr x) { return x.graph->add(std::make_shared<UserSoftplus>(), {x}); }

// Explicit registration, so graphs can also create the op by name.
void register_user_ops(OpRegistry& registry) {
  OpSchema op;
  op.name = "user_softplus";
  op.summary = "x -> log(1 + e^x), element-wise";
  op.factory = [](const Attributes&) -> OpPtr { return std::make_shared<UserSoftplus>(); };
  op.samples = {OpSample{{uniform_input({3, 4}, -4, 4)}, {}}};
  op.origin = "tests/engine/test_user_op.cpp";
  registry.add(std::move(op));
}

GraphBuilder softplus_of_input() {
  return [](Graph&, const std::vector<Expr>& x) { return user_softplus(x[0]); };
}

}  // namespace

TEST_CASE("a user op registers explicitly and is created by name like a built-in one") {
  OpRegistry registry;
  register_builtin_ops(registry);
  register_user_ops(registry);
  CHECK(registry.contains("user_softplus"));
  CHECK(registry.schema("user_softplus").origin == "tests/engine/test_user_op.cpp");
  CHECK_THROWS_AS(register_user_ops(registry), Error);  // the name is taken now

  // softplus(0) = log 2, softplus(20) = 20 + log(1 + e^-20), softplus(-20) = log(1 + e^-20)
  const auto x = fixed_input({3}, {0, 20, -20});
  const std::vector<double> expected = {std::log(2.0), 20 + std::log1p(std::exp(-20.0)), std::log1p(std::exp(-20.0))};
  check_close(run_forward(softplus_of_input(), {x}, DType::f64), expected, 1e-15);
  auto by_name = [&](Graph&, const std::vector<Expr>& in) { return apply("user_softplus", in, {}, registry); };
  check_close(run_forward(by_name, {x}, DType::f32), expected, 1e-6);

  Graph g;
  CHECK_THROWS_WITH_AS(user_softplus(input(g, "ids", {DType::i32, {2}})),
                       doctest::Contains("[user_softplus] takes one floating input"), ShapeError);
}

TEST_CASE("a user op's gradients match finite differences and agree across backends") {
  check_gradcheck(softplus_of_input(), {uniform_input({2, 3, 5}, -4, 4)});
  check_gradcheck(softplus_of_input(), {fixed_input({4}, {-30, -0.5, 0.5, 30})});  // saturated on both sides
  OpRegistry registry;
  register_user_ops(registry);
  const OpSample& sample = registry.schema("user_softplus").samples.at(0);
  check_gradcheck([&](Graph&, const std::vector<Expr>& in) { return apply("user_softplus", in, {}, registry); },
                  sample.inputs);
  check_backends_agree(softplus_of_input(), {uniform_input({3, 4})});
  check_backends_agree(softplus_of_input(), {uniform_input({5, 3000}, -4, 4)});  // several parallel_for blocks
}

TEST_CASE("a model trained through a user op lowers its loss, and the profiler shows the op") {
  // (8, 4) @ (4, 3)ᵀ -> softplus -> mean squared distance to 0.25.
  ParameterStore store(5);
  Graph g(&store);
  Expr x = input(g, "x", {DType::f32, {8, 4}});
  Expr h;
  {
    auto s = g.scope("head");
    Expr w = parameter(g, "weight", {3, 4}, Init::xavier_uniform());
    h = user_softplus(matmul(x, w, false, true));  // (8, 3)
  }
  Expr d = h - constant(g, Tensor::full(DType::f32, {8, 3}, 0.25));
  Expr loss = mean(d * d);
  Tensor batch = Tensor::empty(DType::f32, {8, 4});
  initialize(batch, Init::uniform(-1, 1), 9);

  Executor ex(Backend::tbb, 2);
  auto sgd = make_optimizer("sgd");
  Profiler profiler;
  RunOptions run;
  run.observer = &profiler;
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    store.zero_grad();
    ex.forward(g, {{x.id, batch}}, {loss.id}, run);
    losses.push_back(ex.value(loss.id).item());
    ex.backward(loss.id);
    sgd->step(store, 0.5);
  }
  INFO("first loss " << losses.front() << ", last " << losses.back());
  CHECK(losses.back() < 0.75 * losses.front());
  for (std::size_t i = 1; i < losses.size(); ++i) CHECK(losses[i] < losses[i - 1]);

  const std::vector<OpStats> rows = op_table(profiler.profile());
  int user_rows = 0;
  for (const OpStats& row : rows)
    if (row.op == "user_softplus") {
      ++user_rows;
      CHECK(row.calls == 20);
      CHECK(row.flops == doctest::Approx(20 * 4 * 24.0));  // Op::cost: 4 flops per element, 24 elements
    }
  CHECK(user_rows == 2);  // forward and backward
  CHECK(format_op_table(rows).find("user_softplus") != std::string::npos);
  bool scoped = false;
  for (const ScopeStats& s : scope_rollup(profiler.profile())) scoped |= s.scope == "head";
  CHECK(scoped);
}
