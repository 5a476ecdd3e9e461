#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "ops/matmul.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Distinct, reproducible values for a tensor of `shape`.
std::vector<double> pattern(const Shape& shape, double phase) {
  std::vector<double> v(static_cast<std::size_t>(numel(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37 * double(i) + phase);
  return v;
}

// The same matrices stored with their last two axes swapped.
std::vector<double> swap_last_two(const std::vector<double>& v, const Shape& shape) {
  const std::int64_t r = shape[shape.size() - 2], c = shape[shape.size() - 1];
  std::vector<double> out(v.size());
  for (std::int64_t m = 0; m < numel(shape) / (r * c); ++m)
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = 0; j < c; ++j)
        out[std::size_t(m * r * c + j * r + i)] = v[std::size_t(m * r * c + i * c + j)];
  return out;
}
Shape swapped(Shape s) {
  std::swap(s[s.size() - 2], s[s.size() - 1]);
  return s;
}

// Plain triple loop with numpy batch broadcasting: the reference.
std::vector<double> reference(const std::vector<double>& a, const Shape& sa, const std::vector<double>& b,
                              const Shape& sb) {
  const std::int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  Shape batch;
  REQUIRE(broadcast_shapes(ba, bb, batch));
  const Shape sta = broadcast_strides(ba, batch), stb = broadcast_strides(bb, batch);
  std::vector<double> out;
  for (std::int64_t i = 0; i < numel(batch); ++i) {
    std::int64_t oa = 0, ob = 0, rest = i;
    for (std::size_t d = batch.size(); d-- > 0; rest /= batch[d]) {
      oa += (rest % batch[d]) * sta[d];
      ob += (rest % batch[d]) * stb[d];
    }
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (std::int64_t k = 0; k < K; ++k)
          s += a[std::size_t(oa * M * K + m * K + k)] * b[std::size_t(ob * K * N + k * N + n)];
        out.push_back(s);
      }
  }
  return out;
}

GraphBuilder product(bool ta = false, bool tb = false) {
  return [ta, tb](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1], ta, tb); };
}

// matmul of logical a (..., M, K) and b (..., K, N), stored transposed where
// asked: checks values against the reference (f32). The same cases are
// matmul's registered samples, gradchecked by test_registered_ops.cpp.
void check_product(const Shape& sa, const Shape& sb, bool ta = false, bool tb = false) {
  INFO(to_string(sa) << " @ " << to_string(sb) << " ta=" << ta << " tb=" << tb);
  const auto a = pattern(sa, 0.1), b = pattern(sb, 0.7);
  const GradcheckInput ia = ta ? fixed_input(swapped(sa), swap_last_two(a, sa)) : fixed_input(sa, a);
  const GradcheckInput ib = tb ? fixed_input(swapped(sb), swap_last_two(b, sb)) : fixed_input(sb, b);
  check_close(run_forward(product(ta, tb), {ia, ib}), reference(a, sa, b, sb), 1e-5);
}

}  // namespace

TEST_CASE("matmul multiplies a 2x3 by a 3x2 matrix as by hand") {
  const Tensor c =
      run_forward(product(), {fixed_input({2, 3}, {1, 2, 3, 4, 5, 6}), fixed_input({3, 2}, {7, 8, 9, 10, 11, 12})});
  CHECK(c.shape() == Shape{2, 2});
  check_close(c, {58, 64, 139, 154});
}

TEST_CASE("matmul reads transposed operands in all four combinations") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_product({2, 3, 4}, {2, 4, 5}, ta, tb);
      check_product({3, 4}, {4, 2}, ta, tb);
      check_product({2, 3, 4}, {4, 5}, ta, tb);  // rank-2 b: the linear case when a is not transposed
    }
}

TEST_CASE("matmul broadcasts batch dims as numpy does") {
  Graph g;
  const Expr y = matmul(input(g, "a", {DType::f32, {2, 1, 3, 4}}), input(g, "b", {DType::f32, {5, 4, 6}}));
  CHECK(y.shape() == Shape{2, 5, 3, 6});
  check_product({2, 1, 3, 4}, {5, 4, 6});
  check_product({2, 1, 3, 4}, {5, 4, 6}, true, true);
  check_product({3, 4}, {2, 4, 5});
  check_product({2, 3, 4}, {1, 4, 5});  // a batch-free b of rank 3 folds like the linear case
  check_product({1, 3, 4}, {2, 1, 4, 5});
}

TEST_CASE("matmul handles size-1 and empty dims") {
  check_product({1, 1}, {1, 1});
  check_product({3, 1}, {1, 4});  // K = 1: an outer product
  check_product({1, 4}, {4, 1});  // a dot product
  check_product({1, 1, 3}, {3, 1});
  const Tensor empty_k = run_forward(product(), {uniform_input({2, 0}), uniform_input({0, 3})});
  CHECK(empty_k.shape() == Shape{2, 3});
  check_close(empty_k, {0, 0, 0, 0, 0, 0});
  CHECK(run_forward(product(), {uniform_input({0, 2, 3}), uniform_input({3, 4})}).shape() == Shape{0, 2, 4});
}

TEST_CASE("matmul names the shapes when they do not fit") {
  Graph g;
  auto in = [&g](const char* name, Shape s, DType t = DType::f32) { return input(g, name, {t, std::move(s)}); };
  CHECK_THROWS_WITH_AS(matmul(in("a", {2, 3}), in("b", {4, 5})),
                       doctest::Contains("[matmul] K mismatch: a (2, 3) has K = 3, b (4, 5) has K = 4"), ShapeError);
  CHECK_THROWS_WITH_AS(matmul(in("c", {2, 3}), in("d", {5, 3}), true, true),
                       doctest::Contains("a (2, 3) (transposed) has K = 2, b (5, 3) (transposed) has K = 3"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(matmul(in("e", {2, 3, 4}), in("f", {3, 4, 5})),
                       doctest::Contains("[matmul] batch dims of a (2, 3, 4) and b (3, 4, 5) do not broadcast"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(matmul(in("g", {3}), in("h", {3, 4})),
                       doctest::Contains("[matmul] needs operands of rank >= 2, got a (3,) and b (3, 4)"), ShapeError);
  CHECK_THROWS_WITH_AS(matmul(in("i", {2, 3}), in("j", {3, 4}, DType::f64)),
                       doctest::Contains("[matmul] inputs must share one floating dtype"), ShapeError);
}

TEST_CASE("matmul reports 2*M*N*K*batch flops forward and twice that backward") {
  Graph g;
  const Expr y = matmul(input(g, "a", {DType::f32, {2, 1, 3, 4}}), input(g, "b", {DType::f32, {5, 4, 6}}));
  const TensorType in[] = {g.node(y.node().inputs[0]).type, g.node(y.node().inputs[1]).type};
  const Cost cost = y.node().op->cost(in, y.type());
  CHECK(cost.forward_flops == 2.0 * 3 * 6 * 4 * 10);
  CHECK(cost.backward_flops == 2 * cost.forward_flops);
}

TEST_CASE("matmul gives the same bits on every executor when its rows are split into blocks") {
  check_backends_agree(product(), {uniform_input({2, 300, 64}), uniform_input({64, 48})});
  check_backends_agree(product(false, true), {uniform_input({3, 300, 32}), uniform_input({3, 40, 32})});
  check_backends_agree(product(true, false), {uniform_input({4, 32, 300}), uniform_input({32, 40})});
  check_backends_agree(product(), {uniform_input({2, 1, 300, 16}), uniform_input({3, 16, 8})});
}
