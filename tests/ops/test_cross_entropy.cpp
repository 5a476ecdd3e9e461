#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "ops/cross_entropy.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

GradcheckInput logits(Shape s, std::vector<double> v) { return {.shape = s, .value = Tensor::from<double>(s, v)}; }
GradcheckInput targets(Shape s, std::vector<std::int32_t> v) {
  return {.shape = s, .dtype = DType::i32, .value = Tensor::from<std::int32_t>(s, v)};
}
GraphBuilder loss(std::int64_t ignore = -100, double eps = 0, Reduction r = Reduction::mean) {
  return [=](Graph&, const std::vector<Expr>& x) { return cross_entropy(x[0], x[1], ignore, eps, r); };
}

const double ln2 = std::log(2.0), ln3 = std::log(3.0), ln6 = std::log(6.0);
// Row 0: softmax [1, 2, 3] / 6, target 2.  Row 1: softmax [1, 1, 1] / 3, target 0.
const GradcheckInput two_rows = logits({2, 3}, {0, ln2, ln3, 1, 1, 1});

// Runs the loss in f64 and returns (loss, dL/dlogits).
std::pair<double, Tensor> loss_and_grad(const GraphBuilder& build, const GradcheckInput& x, const GradcheckInput& t) {
  Graph g(nullptr, DType::f64);
  Expr in = input(g, "logits", {DType::f64, x.shape}, true);
  Expr tg = input(g, "targets", {DType::i32, t.shape});
  Expr l = build(g, {in, tg});
  Executor ex(Backend::sequential);
  ex.forward(g, {{in.id, x.value}, {tg.id, t.value}}, {l.id});
  ex.backward(l.id);
  return {ex.value(l.id).item(), ex.grad(in.id)};
}

}  // namespace

TEST_CASE("cross_entropy without smoothing is -log softmax of the target, by hand") {
  // -log(3/6) = ln 2 and -log(1/3) = ln 3
  check_close(run_forward(loss(), {two_rows, targets({2}, {2, 0})}, DType::f64), {(ln2 + ln3) / 2}, 1e-12);
  check_close(run_forward(loss(-100, 0, Reduction::sum), {two_rows, targets({2}, {2, 0})}, DType::f64), {ln6}, 1e-12);
  // (B, T, V) logits with (B, T) targets
  check_close(run_forward(loss(), {logits({1, 2, 3}, {0, ln2, ln3, 1, 1, 1}), targets({1, 2}, {2, 0})}),
              {(ln2 + ln3) / 2});
}

TEST_CASE("cross_entropy with label smoothing uses q = (1 - eps) onehot + eps / V, by hand") {
  // Row 0, eps = 0.1: q = [0.1/3, 0.1/3, 0.9 + 0.1/3], log p = [ln(1/6), ln(2/6), ln(3/6)]
  const double e = 0.1 / 3;
  const double row0 = -(e * std::log(1 / 6.0) + e * std::log(2 / 6.0) + (0.9 + e) * std::log(3 / 6.0));
  const double row1 = ln3;  // a uniform softmax: every q sums to 1
  check_close(run_forward(loss(-100, 0.1), {two_rows, targets({2}, {2, 0})}, DType::f64), {(row0 + row1) / 2}, 1e-12);
  check_close(run_forward(loss(-100, 0.1, Reduction::sum), {two_rows, targets({2}, {2, 0})}, DType::f64),
              {row0 + row1}, 1e-12);
  // eps = 1: q is uniform, whatever the target
  check_close(run_forward(loss(-100, 1.0), {two_rows, targets({2}, {0, 1})}, DType::f64),
              {(-(std::log(1 / 6.0) + std::log(2 / 6.0) + std::log(3 / 6.0)) / 3 + ln3) / 2}, 1e-12);
}

TEST_CASE("cross_entropy skips ignored targets in the loss and in the count") {
  check_close(run_forward(loss(), {two_rows, targets({2}, {2, -100})}, DType::f64), {ln2}, 1e-12);
  check_close(run_forward(loss(0), {two_rows, targets({2}, {2, 0})}, DType::f64), {ln2}, 1e-12);
  check_close(run_forward(loss(-100, 0.1, Reduction::sum), {two_rows, targets({2}, {-100, 0})}, DType::f64), {ln3},
              1e-12);
}

TEST_CASE("cross_entropy with every target ignored is 0 with a zero gradient, never NaN") {
  for (Reduction r : {Reduction::mean, Reduction::sum}) {
    const auto [l, grad] = loss_and_grad(loss(-100, 0.1, r), two_rows, targets({2}, {-100, -100}));
    CHECK(l == 0.0);
    check_close(grad, {0, 0, 0, 0, 0, 0}, 0);
  }
}

TEST_CASE("cross_entropy's gradient is (softmax - q) / count, by hand") {
  const double e = 0.1 / 3;
  const auto [l, grad] = loss_and_grad(loss(-100, 0.1), two_rows, targets({2}, {2, 0}));
  CHECK(std::isfinite(l));
  check_close(grad,
              {(1 / 6.0 - e) / 2, (2 / 6.0 - e) / 2, (3 / 6.0 - 0.9 - e) / 2,  //
               (1 / 3.0 - 0.9 - e) / 2, (1 / 3.0 - e) / 2, (1 / 3.0 - e) / 2},
              1e-12);
  const auto [l_sum, grad_sum] = loss_and_grad(loss(-100, 0, Reduction::sum), two_rows, targets({2}, {-100, 0}));
  check_close(grad_sum, {0, 0, 0, 1 / 3.0 - 1, 1 / 3.0, 1 / 3.0}, 1e-12);
}

TEST_CASE("cross_entropy is stable for logits of +-1e4") {
  const auto huge = logits({2, 3}, {1e4, -1e4, 0, 1e4, -1e4, 0});
  const auto t = targets({2}, {0, 1});
  // Row 0 is certain and right (loss 0), row 1 certain and wrong (loss 2e4).
  check_close(run_forward(loss(-100, 0, Reduction::sum), {huge, t}), {2e4}, 1e-3);
  // eps = 0.3: (1 - eps) (lse - x_t) + eps (lse - mean x) with lse = 1e4, mean x = 0
  check_close(run_forward(loss(-100, 0.3, Reduction::sum), {huge, t}), {0.3 * 1e4 + 0.7 * 2e4 + 0.3 * 1e4}, 1e-2);
  const auto [l, grad] = loss_and_grad(loss(-100, 0, Reduction::sum), huge, t);
  CHECK(l == doctest::Approx(2e4));
  check_close(grad, {0, 0, 0, 1, -1, 0}, 1e-12);
  for (const Tensor& r : run_all(loss(-100, 0.1), {huge, t}, DType::f32, Backend::sequential, 1))
    CHECK_FALSE(r.has_non_finite());
}

TEST_CASE("cross_entropy names an out-of-range target, its position and V") {
  CHECK_THROWS_WITH_AS(run_forward(loss(), {two_rows, targets({2}, {0, 3})}),
                       doctest::Contains("[cross_entropy] target 3 at position 1 of targets (2,) is out of range for "
                                         "V = 3 classes (ignore_index = -100)"),
                       NodeError);
  CHECK_THROWS_WITH_AS(run_forward(loss(), {two_rows, targets({2}, {-1, 0})}), doctest::Contains("target -1 at position 0"),
                       NodeError);
}

TEST_CASE("cross_entropy shape errors are caught when the node is created") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3, 4}});
  Expr t23 = input(g, "t23", {DType::i32, {2, 3}});
  Expr t24 = input(g, "t24", {DType::i32, {2, 4}});
  Expr f23 = input(g, "f23", {DType::f32, {2, 3}});
  Expr v = input(g, "v", {DType::f32, {4}});
  CHECK_THROWS_WITH_AS(cross_entropy(x, t24),
                       doctest::Contains("[cross_entropy] logits (2, 3, 4) need i32 targets of shape (2, 3), got i32(2, 4)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(cross_entropy(x, f23), doctest::Contains("need i32 targets of shape (2, 3), got f32(2, 3)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(cross_entropy(v, t23), doctest::Contains("[cross_entropy] logits must be floating (N, V) or (B, T, V)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(cross_entropy(x, t23, -100, 1.5), doctest::Contains("label_smoothing must be in [0, 1]"), Error);
  CHECK_FALSE(g.node(cross_entropy(x, t23).id).op->differentiable(1));
}

TEST_CASE("cross_entropy gives the same bits on every executor") {
  check_backends_agree(loss(-1, 0.1), {{.shape = {64, 300}, .low = -5, .high = 5},
                                         {.shape = {64}, .dtype = DType::i32, .low = -1, .high = 300}});
  check_backends_agree(loss(7, 0, Reduction::sum), {{.shape = {2, 40, 500}, .low = -5, .high = 5},
                                                    {.shape = {2, 40}, .dtype = DType::i32, .low = 0, .high = 10}});
}

TEST_CASE("the registry creates cross_entropy from its attributes") {
  ensure_builtin_ops();
  const GraphBuilder by_name = [](Graph&, const std::vector<Expr>& x) {
    return apply("cross_entropy", {x[0], x[1]},
                 {{"ignore_index", std::int64_t{0}}, {"label_smoothing", 0.1}, {"reduction", std::string("sum")}});
  };
  const std::vector<GradcheckInput> in = {two_rows, targets({2}, {2, 0})};
  CHECK(run_forward(by_name, in).bit_equal(run_forward(loss(0, 0.1, Reduction::sum), in)));
  CHECK_THROWS_WITH_AS(default_registry().create("cross_entropy", {{"reduction", std::string("max")}}),
                       doctest::Contains("[cross_entropy] attribute 'reduction' must be \"mean\" or \"sum\""), Error);
}
