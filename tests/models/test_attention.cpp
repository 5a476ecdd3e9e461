// Attention with PyTorch's arguments: multi_head_attention(query, key, value)
// against a direct computation, the key_value convenience against it bit for
// bit, scaled_dot_product_attention's two key layouts, and the shape errors.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "models/attention.hpp"
#include "ops/mask.hpp"
#include "ops/shape_ops.hpp"
#include "tests/support/header_examples.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

constexpr std::int64_t kB = 2, kT = 3, kS = 4, kD = 6, kH = 2, kK = kD / kH;

// Row-major (B, L, D) values and one (D, D) weight, (D) bias, as doubles.
using Values = std::vector<double>;
Values values_of(const Tensor& t) {
  const Tensor d = t.to(DType::f64);
  return Values(d.data<double>(), d.data<double>() + d.numel());
}

// x (rows, D) -> x wᵀ + b (rows, D).
Values affine(const Values& x, const Values& w, const Values& b) {
  Values y(x.size());
  for (std::size_t r = 0; r < x.size() / kD; ++r)
    for (std::int64_t o = 0; o < kD; ++o) {
      double acc = b[std::size_t(o)];
      for (std::int64_t i = 0; i < kD; ++i) acc += x[r * kD + std::size_t(i)] * w[std::size_t(o * kD + i)];
      y[r * kD + std::size_t(o)] = acc;
    }
  return y;
}

// Multi-head attention written out with loops, from the projections' parameters:
// query (B,T,D), key and value (B,S,D), mask (B,S) 1 = attend -> (B,T,D).
Values reference_attention(const ParameterStore& p, const Values& query, const Values& key, const Values& value,
                           const Values& mask) {
  auto param = [&](const char* name) { return values_of(p.at(name).value); };
  const Values q = affine(query, param("q_proj.weight"), param("q_proj.bias"));
  const Values k = affine(key, param("k_proj.weight"), param("k_proj.bias"));
  const Values v = affine(value, param("v_proj.weight"), param("v_proj.bias"));
  Values heads(std::size_t(kB * kT * kD), 0.0);  // (B,T,D), head h in columns [hK, hK + K)
  for (std::int64_t b = 0; b < kB; ++b)
    for (std::int64_t h = 0; h < kH; ++h)
      for (std::int64_t t = 0; t < kT; ++t) {
        std::vector<double> w(kS);
        double total = 0;
        for (std::int64_t s = 0; s < kS; ++s) {
          double score = 0;
          for (std::int64_t j = 0; j < kK; ++j)
            score += q[std::size_t((b * kT + t) * kD + h * kK + j)] * k[std::size_t((b * kS + s) * kD + h * kK + j)];
          w[std::size_t(s)] = mask[std::size_t(b * kS + s)] * std::exp(score / std::sqrt(double(kK)));
          total += w[std::size_t(s)];
        }
        for (std::int64_t s = 0; s < kS; ++s)
          for (std::int64_t j = 0; j < kK; ++j)
            heads[std::size_t((b * kT + t) * kD + h * kK + j)] +=
                w[std::size_t(s)] / total * v[std::size_t((b * kS + s) * kD + h * kK + j)];
      }
  return affine(heads, param("out_proj.weight"), param("out_proj.bias"));
}

const Values kMask = {1, 1, 1, 0, 1, 1, 0, 0};  // (B, S): padding at the ends

}  // namespace

TEST_CASE("multi_head_attention(query, key, value) matches attention written out by hand") {
  ParameterStore store(3);
  Graph g(&store, DType::f64);
  Expr query = input(g, "query", {DType::f64, {kB, kT, kD}});
  Expr key = input(g, "key", {DType::f64, {kB, kS, kD}});
  Expr value = input(g, "value", {DType::f64, {kB, kS, kD}});
  Expr mask = constant(g, Tensor::from<double>({kB, 1, kS}, kMask));
  Expr out = multi_head_attention(query, key, value, mask, kH, 0.0).output;  // (B,T,D)
  std::uint64_t bias_key = 17;
  for (const char* bias : {"q_proj.bias", "k_proj.bias", "v_proj.bias", "out_proj.bias"})
    initialize(store.at(bias).value, Init::uniform(-0.5, 0.5), bias_key++);  // biases start at 0: make them count
  Feeds feeds;
  for (auto [leaf, seed] : {std::pair{query, 1}, std::pair{key, 2}, std::pair{value, 3}}) {
    feeds[leaf.id] = Tensor::empty(DType::f64, leaf.shape());
    initialize(feeds[leaf.id], Init::uniform(-1, 1), std::uint64_t(seed));
  }
  Executor ex(Backend::sequential);
  ex.forward(g, feeds, {out.id});
  const Values expected = reference_attention(store, values_of(feeds[query.id]), values_of(feeds[key.id]),
                                              values_of(feeds[value.id]), kMask);
  check_close(ex.value(out.id), expected, 1e-12);

  // Keys and values swapped give another result: each reaches its own projection.
  Expr swapped = multi_head_attention(query, value, key, mask, kH, 0.0).output;
  ex.forward(g, feeds, {swapped.id});
  const Values other = reference_attention(store, values_of(feeds[query.id]), values_of(feeds[value.id]),
                                           values_of(feeds[key.id]), kMask);
  check_close(ex.value(swapped.id), other, 1e-12);
  CHECK(std::abs(other[0] - expected[0]) > 1e-3);
}

TEST_CASE("the key_value form is the key, value form with key = value, bit for bit, with dropout") {
  auto convenience = [](Graph& g, const std::vector<Expr>& x) {
    Expr mask = subsequent_mask(g, x[0].dim(1));  // (1, T, T)
    return multi_head_attention(x[0], x[1], mask, kH, 0.25).output;
  };
  auto separate = [](Graph& g, const std::vector<Expr>& x) {
    Expr mask = subsequent_mask(g, x[0].dim(1));
    return multi_head_attention(x[0], x[1], x[1], mask, kH, 0.25).output;
  };
  const std::vector<GradcheckInput> inputs = {uniform_input({kB, kT, kD}), uniform_input({kB, kT, kD})};
  const auto a = run_all(convenience, inputs, DType::f32, Backend::tbb, 2, /*training=*/true);
  const auto b = run_all(separate, inputs, DType::f32, Backend::tbb, 2, /*training=*/true);
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() == 1 + 2 + 8);  // output, two input gradients, 4 weights and 4 biases
  for (std::size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(a[i].bit_equal(b[i]), "result " << i);
}

TEST_CASE("scaled_dot_product_attention takes keys as PyTorch does, or transposed when told") {
  // q (1,2,3,4), k (1,2,5,4), v (1,2,5,4); S = 5 != K = 4.
  auto with_layout = [](KeyLayout layout) {
    return [layout](Graph&, const std::vector<Expr>& x) {
      Expr k = layout == KeyLayout::bhsk ? x[1] : permute(x[1], {0, 1, 3, 2});
      return scaled_dot_product_attention(x[0], k, x[2], {}, 0.0, layout).output;
    };
  };
  const std::vector<GradcheckInput> inputs = {uniform_input({1, 2, 3, 4}), uniform_input({1, 2, 5, 4}),
                                              uniform_input({1, 2, 5, 4})};
  const Tensor pytorch = run_forward(with_layout(KeyLayout::bhsk), inputs, DType::f64);
  const Tensor transposed = run_forward(with_layout(KeyLayout::bhks), inputs, DType::f64);
  check_close(pytorch, values_of(transposed), 1e-12);
  check_gradcheck(with_layout(KeyLayout::bhsk), inputs);
  // S == K: both layouts fit the shapes, and the default is PyTorch's.
  const std::vector<GradcheckInput> square = {uniform_input({1, 1, 2, 3}), uniform_input({1, 1, 3, 3}),
                                              uniform_input({1, 1, 3, 3})};
  check_close(run_forward(with_layout(KeyLayout::bhsk), square, DType::f64),
              values_of(run_forward(with_layout(KeyLayout::bhks), square, DType::f64)), 1e-12);
  check_close(run_forward([](Graph&, const std::vector<Expr>& x) {
                return scaled_dot_product_attention(x[0], x[1], x[2]).output;
              }, square, DType::f64),
              values_of(run_forward(with_layout(KeyLayout::bhsk), square, DType::f64)), 0.0);
}

TEST_CASE("attention shape errors name the attention, the layout and the shapes") {
  ParameterStore store(1);
  Graph g(&store);
  Expr q = input(g, "q", {DType::f32, {2, 4, 5, 8}});
  Expr k_t = input(g, "k_t", {DType::f32, {2, 4, 8, 6}});
  Expr v = input(g, "v", {DType::f32, {2, 4, 6, 8}});
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, k_t, v),
                       "[scaled_dot_product_attention] keys (2, 4, 8, 6) do not fit the layout (B, H, S, K) with "
                       "queries (2, 4, 5, 8) (B, H, T, K) and values (2, 4, 6, 8) (B, H, S, K): K = 8 and S = 6 were "
                       "expected; they fit (B, H, K, S): pass KeyLayout::bhks",
                       ShapeError);
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, v, v, {}, 0.0, KeyLayout::bhks),
                       doctest::Contains("keys (2, 4, 6, 8) do not fit the layout (B, H, K, S)"), ShapeError);
  CHECK_THROWS_WITH_AS(scaled_dot_product_attention(q, q, v), doctest::Contains("K = 8 and S = 6 were expected"),
                       ShapeError);

  Expr query = input(g, "query", {DType::f32, {2, 3, 8}});
  Expr key = input(g, "key", {DType::f32, {2, 5, 8}});
  Expr value = input(g, "value", {DType::f32, {2, 4, 8}});
  CHECK_THROWS_WITH_AS(multi_head_attention(query, key, value, {}, 2, 0.0),
                       "[multi_head_attention] query (2, 3, 8) (B, T, D), key (2, 5, 8) (B, S, D) and value "
                       "(2, 4, 8) (B, S, D) do not fit: one B and D for all three, one S for key and value",
                       ShapeError);
  Expr narrow = input(g, "narrow", {DType::f32, {2, 5, 4}});
  CHECK_THROWS_WITH_AS(multi_head_attention(query, narrow, {}, 2, 0.0), doctest::Contains("key (2, 5, 4)"),
                       ShapeError);
}

TEST_CASE("the attention header's examples are compiled here") {
  CHECK(check_header_examples("tests/models/test_attention.cpp") == 1);
  const std::int64_t d = 16;  // 8 heads of K = 2
  ParameterStore store(1);
  Graph g(&store);
  Expr y = input(g, "y", {DType::f32, {kB, kT, d}});
  Expr memory = input(g, "memory", {DType::f32, {kB, kS, d}});
  Expr src_mask = constant(g, Tensor::from<double>({kB, 1, kS}, kMask).to(DType::f32));
  Expr tgt_mask = subsequent_mask(g, kT);
  Expr q = input(g, "q", {DType::f32, {kB, kH, kT, kK}});
  Expr k = input(g, "k", {DType::f32, {kB, kH, kS, kK}}), v = input(g, "v", {DType::f32, {kB, kH, kS, kK}});
  // example from models/attention.hpp
  Attention cross = multi_head_attention(y, memory, memory, src_mask, 8, 0.1);  // .output (B,T,D)
  Attention self = multi_head_attention(y, y, tgt_mask, 8, 0.1);               // key = value = y
  Attention a = scaled_dot_product_attention(q, k, v);  // q (B,H,T,K), k, v (B,H,S,K)
  // end of example
  CHECK(cross.output.shape() == Shape{kB, kT, d});
  CHECK(cross.weights.shape() == Shape{kB, 8, kT, kS});
  CHECK(self.weights.shape() == Shape{kB, 8, kT, kT});
  CHECK(a.output.shape() == Shape{kB, kH, kT, kK});
}
