#include <doctest/doctest.h>

#include <algorithm>

#include "engine/error.hpp"
#include "ops/elementwise.hpp"
#include "ops/shape_ops.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
GradcheckInput iota(Shape s) {
  std::vector<double> v(static_cast<std::size_t>(numel(s)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return {.shape = s, .value = Tensor::from<double>(s, v)};
}
}  // namespace

TEST_CASE("reshape and permute move elements as numpy does") {
  auto f = [](auto op) { return [op](Graph&, const std::vector<Expr>& x) { return op(x[0]); }; };
  Tensor r = run_forward(f([](Expr e) { return reshape(e, {3, -1}); }), {iota({2, 3})});
  CHECK(r.shape() == Shape{3, 2});
  check_close(r, {0, 1, 2, 3, 4, 5});
  check_close(run_forward(f([](Expr e) { return transpose(e); }), {iota({2, 3})}), {0, 3, 1, 4, 2, 5});
  // (2,3,4) -> perm (2,0,1) -> (4,2,3): out[k][i][j] = x[i][j][k] = 12i + 4j + k
  Tensor p = run_forward(f([](Expr e) { return permute(e, {2, 0, 1}); }), {iota({2, 3, 4})});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.at({1, 1, 2}) == 12 + 8 + 1);
  CHECK(p.at({3, 0, 1}) == 4 + 3);
}

TEST_CASE("shape ops reject impossible shapes when the node is created") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(reshape(x, {4, -1}), doctest::Contains("[reshape] cannot reshape (2, 3) into (4, -1)"), ShapeError);
  CHECK_THROWS_WITH_AS(reshape(x, {5}), doctest::Contains("[reshape]"), ShapeError);
  CHECK_THROWS_WITH_AS(permute(x, {0, 0}), doctest::Contains("[permute] [0,0] is not a permutation"), ShapeError);
  CHECK_THROWS_WITH_AS(permute(x, {0}), doctest::Contains("[permute]"), ShapeError);
}

TEST_CASE("shape op gradients match finite differences inside graphs") {
  check_gradcheck([](Graph&, const std::vector<Expr>& x) { return transpose(x[0], 0, 1) * x[1]; },
                  {{.shape = {3, 2}}, {.shape = {3}}});
  check_gradcheck([](Graph&, const std::vector<Expr>& x) { return permute(reshape(x[0], {2, 1, 3}), {2, 1, 0}); },
                  {{.shape = {2, 3}}});
}

TEST_CASE("shape ops give the same bits on every executor") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return permute(x[0], {2, 0, 1}) * x[1]; },
                       {{.shape = {16, 33, 65}}, {.shape = {33}}});
}

TEST_CASE("permute moves every element right for every order of 4 axes, split over threads") {
  // 5760 elements: more rows than one task takes, so tasks start mid-way
  // through the leading axes. out[i0][i1][i2][i3] = x at index j with
  // j[p[k]] = i_k, and x's values are their own flat offsets.
  const Shape shape{6, 10, 12, 8};
  std::vector<std::int64_t> p{0, 1, 2, 3};
  do {
    INFO("perm ", p[0], p[1], p[2], p[3]);
    const auto build = [p](Graph&, const std::vector<Expr>& x) { return permute(x[0], p); };
    const Tensor out = run_all(build, {iota(shape)}, DType::f32, Backend::tbb, 2)[0];
    Shape out_shape(4);
    for (std::size_t k = 0; k < 4; ++k) out_shape[k] = shape[std::size_t(p[k])];
    REQUIRE(out.shape() == out_shape);
    const Shape in_strides{10 * 12 * 8, 12 * 8, 8, 1};
    std::int64_t flat = 0, wrong = 0;
    for (std::int64_t a = 0; a < out_shape[0]; ++a)
      for (std::int64_t b = 0; b < out_shape[1]; ++b)
        for (std::int64_t c = 0; c < out_shape[2]; ++c)
          for (std::int64_t d = 0; d < out_shape[3]; ++d, ++flat) {
            const std::int64_t i[4] = {a, b, c, d};
            std::int64_t source = 0;
            for (std::size_t k = 0; k < 4; ++k) source += i[k] * in_strides[std::size_t(p[k])];
            wrong += out.data<float>()[flat] != float(source);
          }
    CHECK(wrong == 0);
  } while (std::next_permutation(p.begin(), p.end()));
}

TEST_CASE("permute of a scalar, of one axis and of an empty axis") {
  const auto f = [](std::vector<std::int64_t> p) {
    return [p](Graph&, const std::vector<Expr>& x) { return permute(x[0], p); };
  };
  const Tensor scalar = run_forward(f({}), {{.shape = {}, .value = Tensor::from<double>({}, {2.5})}});
  CHECK(scalar.shape() == Shape{});
  check_close(scalar, {2.5});
  check_close(run_forward(f({0}), {iota({5})}), {0, 1, 2, 3, 4});
  const Tensor empty = run_forward(f({1, 0}), {iota({0, 3})});
  CHECK(empty.shape() == Shape{3, 0});
  const std::vector<Tensor> empty_grads = run_all(f({1, 0}), {iota({0, 3})}, DType::f32, Backend::tbb, 2);
  REQUIRE(empty_grads.size() == 2);
  CHECK(empty_grads[1].shape() == Shape{0, 3});
}
