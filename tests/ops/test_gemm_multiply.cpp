// attograd's own fp32 GEMM (ops/gemm/multiply.hpp): the one-FMA-chain
// contract over every transpose form and odd shapes, error bounds against
// double precision and OpenBLAS, kernels and thread counts bit for bit,
// pre-packed operands and batches.
#include <doctest/doctest.h>
#include <tbb/task_arena.h>
#include <xmmintrin.h>

#include <cmath>
#include <limits>

#include "engine/parallel.hpp"
#include "ops/gemm.hpp"
#include "ops/gemm/multiply.hpp"
#include "tests/ops/gemm_reference.hpp"

using namespace attograd;
using namespace attograd::gemm;
using namespace attograd::testing;

namespace {

const SerialParallel serial;
constexpr double kUnit = 0x1p-24;  // fp32 unit roundoff

// One product C (m, n) = start + op(A) op(B) with C's row stride n + 5 and
// random values everywhere (the padding must survive).
struct Problem {
  StoredMatrix a, b;
  std::int64_t ldc;
  std::vector<float> c, bias;
  Start start;
  Problem(std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb, Start::From from, std::uint64_t seed)
      : a(m, k, ta, seed), b(k, n, tb, seed + 1), ldc(n + 5), c(StoredMatrix(m, ldc, false, seed + 2).values),
        bias(StoredMatrix(1, n, false, seed + 3).values), start{from, from == Start::From::bias ? bias.data() : nullptr} {}

  std::vector<float> own(Options options = {}, const Parallel& parallel = serial) const {
    std::vector<float> out = c;
    multiply(parallel, a.rows, b.cols, a.cols, a.operand(), b.operand(), out.data(), ldc, start, options);
    return out;
  }
  std::vector<float> chain() const { return chain_f32(a, b, c, ldc, start); }
};

// Largest |C - exact| / ((k + 2) u (|start| + Σ|a||b|)): at most 1 for a
// sum of k products rounded k times (γ_k ≤ 1.01 k u here).
double worst_error_ratio(const Problem& p, const std::vector<float>& c) {
  const DoubleProduct exact = product_in_double(p.a, p.b, p.c, p.ldc, p.start);
  double worst = 0;
  for (std::int64_t i = 0; i < p.a.rows; ++i)
    for (std::int64_t j = 0; j < p.b.cols; ++j) {
      const auto at = std::size_t(i * p.ldc + j);
      const double bound = double(p.a.cols + 2) * kUnit * exact.scale[at] + std::numeric_limits<float>::min();
      worst = std::max(worst, std::abs(double(c[at]) - exact.value[at]) / bound);
    }
  return worst;
}

constexpr Start::From kStarts[] = {Start::From::zeros, Start::From::c, Start::From::bias};

}  // namespace

TEST_CASE("own gemm: every element is one FMA chain in contraction order, in every form and odd shape") {
  const std::int64_t sizes[] = {1, 7, 33, 300};
  int index = 0;
  for (std::int64_t m : sizes)
    for (std::int64_t n : sizes)
      for (std::int64_t k : sizes)
        for (int form = 0; form < 4; ++form, ++index) {
          const Problem p(m, n, k, form & 1, form & 2, kStarts[index % 3], std::uint64_t(index));
          CAPTURE(m); CAPTURE(n); CAPTURE(k); CAPTURE(form);
          const std::vector<float> c = p.own();
          REQUIRE(same_bits(c, p.chain()));
          if (m * n * k <= 33 * 300 * 300) CHECK(worst_error_ratio(p, c) <= 1.0);
        }
}

TEST_CASE("own gemm: shapes with a side of 2048 follow the chain too") {
  // The last has a B over 2^21 words: the large-B row blocks.
  const std::int64_t shapes[][3] = {{2048, 7, 33}, {7, 2048, 33}, {33, 7, 2048}, {300, 33, 2048}, {2048, 40, 7}, {30, 2048, 1030}};
  int index = 0;
  for (const auto& s : shapes)
    for (int form = 0; form < 4; ++form, ++index) {
      const Problem p(s[0], s[1], s[2], form & 1, form & 2, kStarts[index % 3], 100 + std::uint64_t(index));
      CAPTURE(s[0]); CAPTURE(s[1]); CAPTURE(s[2]); CAPTURE(form);
      const std::vector<float> c = p.own();
      REQUIRE(same_bits(c, p.chain()));
      CHECK(worst_error_ratio(p, c) <= 1.0);
    }
}

TEST_CASE("own gemm: an empty contraction leaves C at its start, an empty M or N writes nothing") {
  for (Start::From from : kStarts) {
    const Problem p(5, 9, 0, false, true, from, 7);
    const std::vector<float> c = p.own();
    CHECK(same_bits(c, p.chain()));
    if (from == Start::From::zeros) CHECK(c[0] == 0.0f);
    if (from == Start::From::bias) CHECK(c[std::size_t(p.ldc) + 3] == p.bias[3]);
  }
  for (const auto& [m, n] : {std::pair{0, 9}, std::pair{5, 0}}) {
    const Problem p(m, n, 4, false, false, Start::From::zeros, 8);
    CHECK(same_bits(p.own(), p.c));
  }
}

TEST_CASE("own gemm: the portable and the AVX2 kernels give the same bits, with and without FTZ/DAZ") {
  if (!isa_available(Isa::avx2)) {
    MESSAGE("no AVX2 + FMA on this CPU: only the portable kernel runs");
    return;
  }
  const unsigned saved = _mm_getcsr();
  for (bool flush : {false, true}) {
    _mm_setcsr(flush ? saved | 0x8040u : saved & ~0x8040u);
    const std::int64_t shapes[][3] = {{300, 33, 300}, {7, 300, 33}, {37, 61, 513}};
    int index = 0;
    for (const auto& s : shapes)
      for (int form = 0; form < 4; ++form, ++index) {
        Problem p(s[0], s[1], s[2], form & 1, form & 2, kStarts[index % 3], 200 + std::uint64_t(index));
        p.a.values[3] = 1e-39f;  // denormal inputs and products that underflow
        p.b.values[5] = 1e-30f;
        CAPTURE(flush); CAPTURE(index);
        CHECK(same_bits(p.own({Precision::f32, Isa::portable}), p.own({Precision::f32, Isa::avx2})));
      }
  }
  _mm_setcsr(saved);
}

TEST_CASE("own gemm: serial, 2 and 4 TBB threads give the same bits") {
  const std::int64_t shapes[][3] = {{300, 512, 512}, {300, 2048, 512}, {2048, 512, 300}};
  int index = 0;
  for (const auto& s : shapes)
    for (int form = 0; form < 4; ++form, ++index) {
      const Problem p(s[0], s[1], s[2], form & 1, form & 2, kStarts[index % 3], 300 + std::uint64_t(index));
      const std::vector<float> one = p.own();
      for (int threads : {2, 4}) {
        tbb::task_arena arena(threads);
        std::vector<float> many;
        arena.execute([&] { many = p.own({}, tbb_parallel()); });
        CAPTURE(index); CAPTURE(threads);
        CHECK(same_bits(one, many));
      }
    }
}

TEST_CASE("own gemm: fp32 agrees with cblas_sgemm within 2 (k + 2) u of the products' magnitude") {
  const std::int64_t shapes[][3] = {{300, 512, 512}, {33, 2048, 300}};
  int index = 0;
  for (const auto& s : shapes)
    for (int form = 0; form < 4; ++form, ++index) {
      const Problem p(s[0], s[1], s[2], form & 1, form & 2, Start::From::zeros, 400 + std::uint64_t(index));
      const std::vector<float> own = p.own();
      std::vector<float> blas(std::size_t(p.a.rows * p.b.cols));
      gemm::call(p.a.transposed, p.b.transposed, p.a.rows, p.b.cols, p.a.cols, p.a.values.data(), p.a.ld(),
                 p.b.values.data(), p.b.ld(), 0.0f, blas.data());
      const DoubleProduct exact = product_in_double(p.a, p.b, p.c, p.ldc, p.start);
      double worst = 0;
      for (std::int64_t i = 0; i < p.a.rows; ++i)
        for (std::int64_t j = 0; j < p.b.cols; ++j) {
          const double scale = exact.scale[std::size_t(i * p.ldc + j)];
          const double diff = std::abs(double(own[std::size_t(i * p.ldc + j)]) - blas[std::size_t(i * p.b.cols + j)]);
          worst = std::max(worst, diff / (2 * double(p.a.cols + 2) * kUnit * scale));
        }
      CAPTURE(index);
      CHECK(worst <= 1.0);
      CHECK(worst > 0.0);  // different summation orders: not the same bits
    }
}

TEST_CASE("own gemm: a B packed in advance gives the unpacked product's bits, and repacks in place") {
  for (Precision precision : {Precision::f32, Precision::bf16})
    for (int form = 0; form < 4; ++form) {
      Problem p(61, 300, 513, form & 1, form & 2, kStarts[form % 3], 500 + std::uint64_t(form));
      const Options options{precision, Isa::best};
      PackedMatrix packed(serial, p.b.rows, p.b.cols, p.b.operand(), precision, 41);
      CHECK(packed.generation() == 41);
      CHECK(packed.transposed() == p.b.transposed);
      std::vector<float> c = p.c;
      multiply(serial, p.a.rows, p.a.operand(), packed, c.data(), p.ldc, p.start);
      CHECK(same_bits(c, p.own(options)));

      for (float& v : p.b.values) v *= -0.5f;  // the next step's weight
      packed.repack(serial, p.b.operand(), 42);
      c = p.c;
      multiply(serial, p.a.rows, p.a.operand(), packed, c.data(), p.ldc, p.start);
      CHECK(packed.generation() == 42);
      CHECK(same_bits(c, p.own(options)));
    }
}

TEST_CASE("own gemm: a batch is its products one by one, on any thread count") {
  const std::int64_t count = 12, m = 33, n = 40, k = 64;
  for (int form = 0; form < 4; ++form) {
    const StoredMatrix a(count * m, k, false, 600), b(count * k, n, false, 601);
    // Items are consecutive (rows, cols) blocks of the stored buffers.
    const bool ta = form & 1, tb = form & 2;
    const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;
    const Batch batch{count, m * k, k * n, m * n};
    std::vector<float> together(std::size_t(count * m * n)), apart(together.size());
    tbb::task_arena arena(2);
    arena.execute([&] {
      multiply_batched(tbb_parallel(), batch, m, n, k, {a.values.data(), lda, ta}, {b.values.data(), ldb, tb},
                       together.data(), n, Start::zeros());
    });
    for (std::int64_t i = 0; i < count; ++i)
      multiply(serial, m, n, k, {a.values.data() + i * m * k, lda, ta}, {b.values.data() + i * k * n, ldb, tb},
               apart.data() + i * m * n, n);
    CAPTURE(form);
    CHECK(same_bits(together, apart));
  }
}
