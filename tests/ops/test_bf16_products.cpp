// The bf16 run precision (RunSettings::precision) in linear and matmul:
// the same bits on every executor and thread count, within the error bf16
// rounding allows of the exact products, reductions (the bias gradient)
// untouched, f64 graphs exact, and every op whose schema claims bf16
// kernels bit-identical across executors on its samples in bf16.
//
// The bound. Rounding to bf16 (8 significant bits, nearest even) changes an
// operand by at most u = 2^-8 relative, so a product a·b by at most
// 2u + u² = 2^-7 + 2^-16; the f32 accumulation of a K-long contraction adds
// at most (K + 2)·2^-24 (one rounding per FMA, as for f32; +2 for the f32
// rounding of the f64 test inputs' seed). Per element, with s = |start| +
// Σ|a||b| (computed in f64 on the absolute values):
//   |C_bf16 − C_exact| ≤ (2^-7 + 2^-16 + (K + 2)·2^-24) · s.
// Typically far less: the relative rounding error of a bf16 operand has a
// standard deviation of 2^-8·sqrt(0.541 / 3) ≈ 1.66e-3 (uniform error over
// a logarithmically distributed mantissa), two operands ≈ 2.35e-3, and
// independent errors of random sign add in quadrature like the terms
// themselves: the relative (Frobenius) error of a product is about 2.3e-3
// whatever K (measured 2.35e-3 in the GEMM study), i.e. 2^-8·sqrt(K)
// relative to the typical term |a||b|. The tests hold it in [1e-3, 4e-3].
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "engine/leaves.hpp"
#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

using Build = std::function<Expr(Graph&, const std::vector<Expr>&)>;

// f32-representable values in [-1, 1), held as f64.
Tensor random_values(const Shape& shape, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<double> v(std::size_t(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from<double>(shape, v);
}
Tensor absolute(const Tensor& t) {
  Tensor out = t.to(DType::f64);
  for (double& x : out.span<double>()) x = std::abs(x);
  return out;
}

// Records the precision every node reports.
struct PrecisionLog final : ExecutionObserver {
  std::vector<std::pair<NodeId, Precision>> events;
  std::mutex mutex;
  void on_node(const NodeEvent& e) override {
    std::lock_guard lock(mutex);
    events.emplace_back(e.node, e.precision);
  }
  int count(Precision p) {
    int n = 0;
    for (auto& e : events) n += e.second == p;
    return n;
  }
};

// build(inputs) in `dtype` and `precision`, forward and backward from
// `seed`: the output, then every input's gradient.
std::vector<Tensor> run_op(const Build& build, const std::vector<Tensor>& inputs, const Tensor& seed, DType dtype,
                           Precision precision, Backend backend = Backend::sequential, int threads = 1,
                           ExecutionObserver* observer = nullptr) {
  ParameterStore store(1);
  Graph g(&store, dtype);
  std::vector<Expr> leaves;
  Feeds feeds;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    leaves.push_back(input(g, fmt::format("x{}", i), {dtype, inputs[i].shape()}, /*requires_grad=*/true));
    feeds[leaves.back().id] = inputs[i].to(dtype);
  }
  const Expr out = build(g, leaves);
  Executor ex(backend, threads);
  RunOptions run;
  run.precision = precision;
  run.observer = observer;
  ex.forward(g, feeds, {out.id}, run);
  ex.backward(out.id, seed.to(dtype));
  std::vector<Tensor> results{ex.value(out.id).clone()};
  for (const Expr& leaf : leaves) results.push_back(ex.grad(leaf.id).clone());
  return results;
}

double relative_error(const Tensor& got, const Tensor& exact) {
  const std::vector<double> a = got.to_vector(), b = exact.to_vector();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

// Worst |got − exact| / bound over the elements, bound = per_unit · scale.
double worst_ratio(const Tensor& got, const Tensor& exact, const Tensor& scale, double per_unit) {
  const std::vector<double> a = got.to_vector(), b = exact.to_vector(), s = scale.to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (per_unit * s[i]));
  return worst;
}

const Build kLinear = [](Graph&, const std::vector<Expr>& x) { return linear(x[0], x[1], x[2]); };

// Every bf16 result against f64 on the same values: within the bound, and
// visibly rounded (f32 mode's error is ~1e-7). `exact_slots` are results
// that must equal f32 mode's bit for bit (sums that stay f32).
void check_against_exact(const Build& build, const std::vector<Tensor>& inputs, const Tensor& seed,
                         std::int64_t longest_contraction, const std::vector<std::size_t>& exact_slots = {}) {
  const auto bf16 = run_op(build, inputs, seed, DType::f32, Precision::bf16);
  const auto f32 = run_op(build, inputs, seed, DType::f32, Precision::f32);
  const auto exact = run_op(build, inputs, seed, DType::f64, Precision::f32);
  std::vector<Tensor> abs_inputs;
  for (const Tensor& t : inputs) abs_inputs.push_back(absolute(t));
  const auto scale = run_op(build, abs_inputs, absolute(seed), DType::f64, Precision::f32);
  const double per_unit = 0x1p-7 + 0x1p-16 + double(longest_contraction + 2) * 0x1p-24;
  for (std::size_t i = 0; i < bf16.size(); ++i) {
    CAPTURE(i);
    if (std::find(exact_slots.begin(), exact_slots.end(), i) != exact_slots.end()) {
      CHECK(bf16[i].bit_equal(f32[i]));
      continue;
    }
    CHECK(worst_ratio(bf16[i], exact[i], scale[i], per_unit) <= 1.0);
    const double rel = relative_error(bf16[i], exact[i]);
    CHECK(rel >= 1e-3);
    CHECK(rel <= 4e-3);
    CHECK(relative_error(f32[i], exact[i]) < 1e-5);
  }
}

void check_bits_on_every_executor(const Build& build, const std::vector<Tensor>& inputs, const Tensor& seed) {
  const auto oracle = run_op(build, inputs, seed, DType::f32, Precision::bf16);
  const auto f32 = run_op(build, inputs, seed, DType::f32, Precision::f32);
  CHECK_FALSE(oracle[0].bit_equal(f32[0]));  // bf16 really ran
  for (auto [backend, threads] :
       {std::pair{Backend::tbb, 1}, {Backend::tbb, 2}, {Backend::tbb, 4}, {Backend::threads, 3}}) {
    const auto got = run_op(build, inputs, seed, DType::f32, Precision::bf16, backend, threads);
    REQUIRE(got.size() == oracle.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK_MESSAGE(got[i].bit_equal(oracle[i]), fmt::format("result {}, {} threads", i, threads));
  }
}

}  // namespace

TEST_CASE("bf16 linear gives the same bits on every executor and thread count") {
  // 300 rows: 13 row blocks of the GEMM, several tasks on every product.
  const std::vector<Tensor> in{random_values({3, 100, 128}, 1), random_values({136, 128}, 2),
                               random_values({136}, 3)};
  check_bits_on_every_executor(kLinear, in, random_values({3, 100, 136}, 4));
}

TEST_CASE("bf16 linear is within bf16 rounding of the exact products; its bias gradient stays an f32 sum") {
  const std::vector<Tensor> in{random_values({300, 96}, 5), random_values({72, 96}, 6), random_values({72}, 7)};
  check_against_exact(kLinear, in, random_values({300, 72}, 8), /*longest_contraction=*/300, /*db=*/{3});
}

TEST_CASE("bf16 matmul: attention's batched products, transposed and broadcast operands, same bits everywhere") {
  // scores (B, H, T, S) = q (B, H, T, K) · kᵀ: 8 head products of 1 MFLOP.
  const Build scores = [](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1], false, true); };
  check_bits_on_every_executor(scores, {random_values({2, 4, 64, 128}, 9), random_values({2, 4, 64, 128}, 10)},
                               random_values({2, 4, 64, 64}, 11));
  // (2, 1, T, K) @ (3, K, N): a batch no single stride steps through.
  const Build broadcast = [](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1], true, false); };
  check_bits_on_every_executor(broadcast, {random_values({2, 1, 64, 40}, 12), random_values({3, 64, 48}, 13)},
                               random_values({2, 3, 40, 48}, 14));
}

TEST_CASE("bf16 matmul is within bf16 rounding of the exact products") {
  const Build scores = [](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1], false, true); };
  check_against_exact(scores, {random_values({2, 3, 40, 64}, 15), random_values({2, 3, 50, 64}, 16)},
                      random_values({2, 3, 40, 50}, 17), 64);
  const Build broadcast = [](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1], true, false); };
  check_against_exact(broadcast, {random_values({2, 1, 64, 40}, 18), random_values({3, 64, 48}, 19)},
                      random_values({2, 3, 40, 48}, 20), 64);
  // A linear layer's folded (B*T, D) @ (D, F): dB contracts over all 300 rows.
  const Build folded = [](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1]); };
  check_against_exact(folded, {random_values({3, 100, 64}, 21), random_values({64, 56}, 22)},
                      random_values({3, 100, 56}, 23), 300);
}

TEST_CASE("f64 graphs ignore bf16: gradcheck stays exact, and only bf16 products report bf16") {
  const std::vector<Tensor> in{random_values({30, 16}, 24), random_values({12, 16}, 25), random_values({12}, 26)};
  const Tensor seed = random_values({30, 12}, 27);
  PrecisionLog log64, log32;
  const auto f64_bf16 = run_op(kLinear, in, seed, DType::f64, Precision::bf16, Backend::sequential, 1, &log64);
  const auto f64 = run_op(kLinear, in, seed, DType::f64, Precision::f32);
  for (std::size_t i = 0; i < f64.size(); ++i) CHECK(f64_bf16[i].bit_equal(f64[i]));
  CHECK(log64.count(Precision::bf16) == 0);
  run_op(kLinear, in, seed, DType::f32, Precision::bf16, Backend::sequential, 1, &log32);
  CHECK(log32.count(Precision::bf16) == 2);  // linear's forward and backward ...
  CHECK(log32.count(Precision::f32) == 6);   // ... not the three input leaves' forward and backward
}

TEST_CASE("linear and matmul, and only they, declare bf16 kernels; on every sample they agree across executors") {
  OpRegistry registry;
  register_builtin_ops(registry);
  std::vector<std::string> flagged;
  for (const std::string& name : registry.names()) {
    const OpSchema& op = registry.schema(name);
    if (!op.bf16_kernel) continue;
    flagged.push_back(name);
    for (std::size_t i = 0; i < op.samples.size(); ++i) {
      const OpSample& sample = op.samples[i];
      INFO(fmt::format("op '{}' sample {}", name, i));
      const GraphBuilder single = [&](Graph& g, const std::vector<Expr>& x) {
        return g.add(op.factory(sample.attributes), x);
      };
      check_backends_agree(single, sample.inputs, sample.training, Precision::bf16);
    }
  }
  CHECK(flagged == std::vector<std::string>{"linear", "matmul"});
}
