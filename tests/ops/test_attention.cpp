// The attention chain softmax(Q K^T / sqrt(d)) V built from matmul, scale and
// softmax, checked by hand on the classic self-attention illustration: four
// 2-d embeddings x1 = [1, 0], x2 = [0, 1], x3 = [1, 1], x4 = [0, 0] with
// identity projections, so Q = K = V = X.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/elementwise.hpp"
#include "ops/mask.hpp"
#include "ops/matmul.hpp"
#include "ops/softmax.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

const std::vector<double> kX = {1, 0, 0, 1, 1, 1, 0, 0};  // x1..x4, (1, 4, 2)
const std::vector<double> kIdentity = {1, 0, 0, 1};

struct Attention {
  Expr scores, weights, out;
};

// x (B, T, D) with projections wq, wk, wv (D, D); causal adds subsequent_mask.
Attention attend(Graph& g, const std::vector<Expr>& in, bool causal = false) {
  const Expr q = matmul(in[0], in[1]), k = matmul(in[0], in[2]), v = matmul(in[0], in[3]);
  const Expr scores = scale(matmul(q, k, false, true), 1 / std::sqrt(double(in[0].dim(-1))));
  const Expr weights = causal ? masked_softmax(scores, subsequent_mask(g, in[0].dim(-2))) : softmax(scores);
  return {scores, weights, matmul(weights, v)};
}

// Scores, weights and output of one sequential run in `dtype`.
std::vector<Tensor> run_attention(DType dtype, bool causal) {
  Graph g(nullptr, dtype);
  std::vector<Expr> in;
  Feeds feeds;
  for (const auto& [name, shape, values] :
       {std::tuple{"x", Shape{1, 4, 2}, kX}, std::tuple{"wq", Shape{2, 2}, kIdentity},
        std::tuple{"wk", Shape{2, 2}, kIdentity}, std::tuple{"wv", Shape{2, 2}, kIdentity}}) {
    in.push_back(input(g, name, {dtype, shape}));
    feeds[in.back().id] = Tensor::from<double>(shape, values).to(dtype);
  }
  const Attention a = attend(g, in, causal);
  Executor ex(Backend::sequential);
  ex.forward(g, feeds, {a.scores.id, a.weights.id, a.out.id});
  return {ex.value(a.scores.id), ex.value(a.weights.id), ex.value(a.out.id)};
}

}  // namespace

TEST_CASE("self-attention over four 2-d embeddings matches the hand computation") {
  const double r = 1 / std::sqrt(2.0), e = std::exp(r);
  // Scores x_i . x_j / sqrt(2): x1 scores [1/sqrt2, 0, 1/sqrt2, 0].
  const std::vector<double> scores = {r, 0, r, 0, 0, r, r, 0, r, r, 2 * r, 0, 0, 0, 0, 0};
  // Softmax of each row, by hand, then the weighted sum of V = X.
  std::vector<double> weights, out;
  for (int i = 0; i < 4; ++i) {
    double sum = 0;
    for (int j = 0; j < 4; ++j) sum += std::exp(scores[std::size_t(4 * i + j)]);
    double o0 = 0, o1 = 0;
    for (int j = 0; j < 4; ++j) {
      const double w = std::exp(scores[std::size_t(4 * i + j)]) / sum;
      weights.push_back(w);
      o0 += w * kX[std::size_t(2 * j)];
      o1 += w * kX[std::size_t(2 * j + 1)];
    }
    out.push_back(o0);
    out.push_back(o1);
  }
  // Row 1 in closed form: weights [e, 1, e, 1] / (2e + 2), output [e / (e + 1), 1/2].
  CHECK(weights[0] == doctest::Approx(e / (2 * e + 2)));
  CHECK(out[0] == doctest::Approx(e / (e + 1)));
  CHECK(out[1] == doctest::Approx(0.5));
  for (DType t : {DType::f64, DType::f32}) {
    INFO(dtype_name(t));
    const double tol = t == DType::f64 ? 1e-12 : 1e-6;
    const auto got = run_attention(t, false);
    check_close(got[0], scores, tol);
    check_close(got[1], weights, tol);
    check_close(got[2], out, tol);
  }
}

TEST_CASE("causal self-attention lets each embedding attend only to itself and earlier ones") {
  const double e = std::exp(1 / std::sqrt(2.0));
  const double w = 1 / (2 + e);  // x3 scores [1, 1, 2] / sqrt2 over x1..x3: weights [e, e, e^2] / (2e + e^2)
  const auto got = run_attention(DType::f64, true);
  check_close(got[1],
              {1, 0, 0, 0,                      // x1 sees only itself
               1 / (1 + e), e / (1 + e), 0, 0,  // x2: scores [0, 1/sqrt2]
               w, w, e * w, 0,                  //
               0.25, 0.25, 0.25, 0.25},         // x4 = 0 scores 0 against all
              1e-12);
  check_close(got[2], {1, 0, 1 / (1 + e), e / (1 + e), (1 + e) * w, (1 + e) * w, 0.5, 0.5}, 1e-12);
}

TEST_CASE("the attention chain's gradients match finite differences") {
  auto chain = [](bool causal) {
    return [causal](Graph& g, const std::vector<Expr>& in) { return attend(g, in, causal).out; };
  };
  const std::vector<GradcheckInput> in = {uniform_input({2, 5, 3}), uniform_input({3, 3}), uniform_input({3, 3}),
                                          uniform_input({3, 3})};
  check_gradcheck(chain(false), in);
  check_gradcheck(chain(true), in);
  check_backends_agree(chain(true), {uniform_input({2, 300, 16}), uniform_input({16, 16}), uniform_input({16, 16}),
                                     uniform_input({16, 16})});
}
