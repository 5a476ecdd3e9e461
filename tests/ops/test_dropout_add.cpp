// dropout_add(a, b, p) = a + dropout(b, p) in one op: its values by hand, the
// same bits and masks as the two ops it replaces, and its errors. Gradcheck,
// backend agreement and the shape errors of its samples run in
// test_registered_ops.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/rng.hpp"
#include "ops/dropout.hpp"
#include "ops/dropout_add.hpp"
#include "ops/elementwise.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// a + dropout(b) twice in scope "block", as one op or as two.
Expr twice(Graph& g, Expr a, Expr b, double p, bool fused) {
  auto s = g.scope("block");
  Expr y = fused ? dropout_add(a, b, p) : a + dropout(b, p);
  return fused ? dropout_add(y, b, p) : y + dropout(b, p);
}

}  // namespace

TEST_CASE("dropout_add computes a + b * mask / (1 - p) with dropout's Philox mask, by hand") {
  // a = 1, b = 1, 2, ..., 4099 (a tail of 3 past the last word group), p = 0.5:
  // y_i = 1 + 2 b_i where word i % 4 of philox(key, step, i / 4) >= 2^31, else 1.
  const std::int64_t n = 4099;
  std::vector<double> a(n, 1.0), b(n);
  for (std::int64_t i = 0; i < n; ++i) b[i] = static_cast<double>(i + 1);
  auto build = [](Graph&, const std::vector<Expr>& x) { return dropout_add(x[0], x[1], 0.5); };
  const std::vector<Tensor> r =
      run_all(build, {fixed_input({n}, a), fixed_input({n}, b)}, DType::f32, Backend::sequential, 1, true);
  // run_all trains with seed 3 at step 5 (tests/support/op_check.cpp); the
  // node's label is "dropout_add", so its mask is that of a node "dropout".
  const Tensor y = r[0];
  const std::uint64_t key = mix_keys(3, hash_name("dropout"));
  std::int64_t kept = 0, wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool keep = philox(key, 5, static_cast<std::uint64_t>(i / 4))[i % 4] >= (1u << 31);
    kept += keep;
    wrong += y.data<float>()[i] != static_cast<float>(keep ? 1 + 2 * b[i] : 1);
  }
  CHECK(wrong == 0);
  CHECK(std::abs(static_cast<double>(kept) / n - 0.5) < 0.05);
  // The gradient of a is g itself; b's is g * 2 where kept, else 0.
  // (run_all seeds backward with a random w: compare against y's mask.)
  const Tensor ga = r[1], gb = r[2];
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool k = y.data<float>()[i] != 1.0f;
    bad += gb.data<float>()[i] != (k ? ga.data<float>()[i] * 2.0f : 0.0f);
  }
  CHECK(bad == 0);
}

TEST_CASE("dropout_add in eval mode and for p = 0 is a + b") {
  const auto a = fixed_input({2, 2}, {1, 2, 3, 4}), b = fixed_input({2, 2}, {0.5, -1, 10, 0});
  for (bool training : {false, true}) {
    const double p = training ? 0.0 : 0.5;
    auto build = [p](Graph&, const std::vector<Expr>& x) { return dropout_add(x[0], x[1], p); };
    check_close(run_forward(build, {a, b}, DType::f32, training), {1.5, 1, 13, 4});
  }
}

TEST_CASE("dropout_add gives the same bits and masks as a + dropout(b) in its scope, forward and backward") {
  // Two in one scope: "block.dropout_add" and "block.dropout_add_1" draw the
  // masks of "block.dropout" and "block.dropout_1". Several blocks of 16384.
  for (DType t : {DType::f32, DType::f64}) {
    INFO(dtype_name(t));
    for (double p : {0.1, 0.0}) {
      auto fused = [p](Graph& g, const std::vector<Expr>& x) { return twice(g, x[0], x[1], p, true); };
      auto chain = [p](Graph& g, const std::vector<Expr>& x) { return twice(g, x[0], x[1], p, false); };
      const std::vector<GradcheckInput> in = {uniform_input({70, 1001}), uniform_input({70, 1001})};
      const auto a = run_all(fused, in, t, Backend::tbb, 2, true);
      const auto b = run_all(chain, in, t, Backend::tbb, 2, true);
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].bit_equal(b[i]));
    }
  }
}

TEST_CASE("dropout and dropout_add in one scope are numbered together and draw different masks") {
  Graph g;
  auto s = g.scope("block");
  Expr a = input(g, "a", {DType::f32, {4096}}), b = input(g, "b", {DType::f32, {4096}});
  Expr plain = dropout(b, 0.5), fused = dropout_add(a, b, 0.5), again = dropout(b, 0.5);
  CHECK(g.node(plain.id).label == "block.dropout");
  CHECK(g.node(fused.id).label == "block.dropout_add_1");  // draws block.dropout_1's mask
  CHECK(g.node(again.id).label == "block.dropout_2");
  Executor ex(Backend::sequential);
  ex.forward(g, {{a.id, Tensor::zeros(DType::f32, {4096})}, {b.id, Tensor::full(DType::f32, {4096}, 1.0)}},
             {plain.id, fused.id, again.id}, {.training = true, .seed = 3, .step = 1});
  // With a = 0 and b = 1 each output is its mask times 2: all three differ.
  const Tensor &m0 = ex.value(plain.id), &m1 = ex.value(fused.id), &m2 = ex.value(again.id);
  CHECK_FALSE(m0.bit_equal(m1));
  CHECK_FALSE(m1.bit_equal(m2));
  CHECK_FALSE(m0.bit_equal(m2));
}

TEST_CASE("dropout_add refuses p outside [0, 1) and inputs of different shapes or types") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  Expr row = input(g, "row", {DType::f32, {3}});
  Expr x64 = input(g, "x64", {DType::f64, {2, 3}});
  CHECK_THROWS_WITH_AS(dropout_add(x, x, 1.0), doctest::Contains("[dropout_add] p must be in [0, 1), got 1"), Error);
  CHECK_THROWS_WITH_AS(dropout_add(x, row, 0.1),
                       doctest::Contains("[dropout_add] needs a and b of one shape and one floating dtype, got f32(2, 3) and f32(3,)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(dropout_add(x, x64, 0.1), doctest::Contains("got f32(2, 3) and f64(2, 3)"), ShapeError);
}
