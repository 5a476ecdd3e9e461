// bf16 in attograd's own GEMM: the fp32 -> bf16 conversion (VCVTNEPS2BF16's
// rounding), the VDPBF16PS emulation (order, DAZ, FTZ) on hand-picked
// values and bit for bit on random ones, both kernels, and the error
// against fp32 that bf16 rounding allows.
#include <doctest/doctest.h>
#include <xmmintrin.h>

#include <bit>
#include <cmath>
#include <limits>

#include "engine/parallel.hpp"
#include "ops/gemm/bf16.hpp"
#include "ops/gemm/multiply.hpp"
#include "tests/ops/gemm_reference.hpp"

using namespace attograd;
using namespace attograd::gemm;
using namespace attograd::testing;

namespace {

const SerialParallel serial;

std::uint16_t bf16_of_bits(std::uint32_t bits) { return to_bf16(std::bit_cast<float>(bits)); }

std::vector<Isa> isas() {
  std::vector<Isa> out{Isa::portable};
  if (isa_available(Isa::avx2)) out.push_back(Isa::avx2);
  return out;
}

// C (1, 1) = start + a (1, k) · b (k, 1) in bf16, through the GEMM.
float dot_bf16(const std::vector<float>& a, const std::vector<float>& b, float start, Isa isa) {
  const auto k = std::int64_t(a.size());
  float c = start;
  multiply(serial, 1, 1, k, {a.data(), k}, {b.data(), 1}, &c, 1, Start::accumulate(), {Precision::bf16, isa});
  return c;
}

}  // namespace

TEST_CASE("to_bf16 rounds to nearest even, keeps NaN a NaN and flushes denormals to signed zero") {
  CHECK(to_bf16(1.0f) == 0x3F80);
  CHECK(bf16_of_bits(0x3F808000) == 0x3F80);  // 1 + 2^-8: a tie, down to the even 1.0
  CHECK(bf16_of_bits(0x3F818000) == 0x3F82);  // 1 + 3 * 2^-8: a tie, up to the even 0x3F82
  CHECK(bf16_of_bits(0x3F808001) == 0x3F81);  // just above the tie
  CHECK(bf16_of_bits(0x3F807FFF) == 0x3F80);  // just below it
  CHECK(bf16_of_bits(0xBF818000) == 0xBF82);  // the same for negatives
  CHECK(to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds up to infinity
  CHECK(to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(to_bf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(bf16_of_bits(0x7F800001) == 0x7FC0);  // payload only in the low half: still a NaN
  CHECK(bf16_of_bits(0xFFC00000) == 0xFFC0);
  CHECK(std::isnan(from_bf16(bf16_of_bits(0x7FBFFFFF))));  // a NaN must not round into infinity
  CHECK(bf16_of_bits(0x00000001) == 0x0000);  // denormals flush, as VCVTNEPS2BF16 does
  CHECK(bf16_of_bits(0x807FFFFF) == 0x8000);
  CHECK(bf16_of_bits(0x00800000) == 0x0080);  // the smallest normal stays
  CHECK(to_bf16(-0.0f) == 0x8000);
  CHECK(from_bf16(0x3F82) == 1.015625f);
}

TEST_CASE("bf16 products take each pair's odd element first, as VDPBF16PS does") {
  // start 1, pair (even, odd) products (2^-30, -1): odd first gives
  // (1 - 1) + 2^-30 = 2^-30; even first would give (1 + 2^-30) - 1 = 0.
  const std::vector<float> a{0x1p-15f, -1.0f}, b{0x1p-15f, 1.0f};
  for (Isa isa : isas()) CHECK(dot_bf16(a, b, 1.0f, isa) == 0x1p-30f);
}

TEST_CASE("bf16 products flush denormal results and read a denormal start as zero, whatever MXCSR says") {
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved & ~0x8040u);  // the caller has FTZ and DAZ off
  for (Isa isa : isas()) {
    CHECK(dot_bf16({0x1p-70f, 0.0f}, {0x1p-70f, 0.0f}, 0.0f, isa) == 0.0f);  // 2^-140 is denormal
    CHECK(dot_bf16({0.0f, 0.0f}, {0.0f, 0.0f}, 1e-40f, isa) == 0.0f);        // denormal start
    CHECK(dot_bf16({0x1p-60f, 0.0f}, {0x1p-60f, 0.0f}, 0.0f, isa) == 0x1p-120f);
  }
  CHECK(_mm_getcsr() == (saved & ~0x8040u));  // restored
  _mm_setcsr(saved);
}

TEST_CASE("bf16 GEMM equals the VDPBF16PS model bit for bit, on both kernels, in every form") {
  const std::int64_t shapes[][3] = {{7, 33, 1}, {33, 7, 300}, {300, 33, 33}, {7, 300, 513}, {1, 1, 7}};
  int index = 0;
  for (const auto& s : shapes)
    for (int form = 0; form < 4; ++form, ++index) {
      const StoredMatrix a(s[0], s[2], form & 1, 700 + std::uint64_t(index));
      StoredMatrix b(s[2], s[1], form & 2, 800 + std::uint64_t(index));
      b.values[0] = 1e-39f;  // a denormal (flushed when converted)
      const std::int64_t ldc = s[1];
      const std::vector<float> start_c = StoredMatrix(s[0], ldc, false, 900).values;
      const Start start = index % 2 ? Start::accumulate() : Start::zeros();
      const std::vector<float> model = chain_bf16(a, b, start_c, ldc, start);
      for (Isa isa : isas()) {
        std::vector<float> c = start_c;
        multiply(serial, s[0], s[1], s[2], a.operand(), b.operand(), c.data(), ldc, start, {Precision::bf16, isa});
        const int kernel = int(isa);
        CAPTURE(index);
        CAPTURE(kernel);
        CHECK(same_bits(c, model));
      }
    }
}

TEST_CASE("bf16 GEMM is within bf16 rounding of the exact product") {
  // Each operand is off by at most u = 2^-8 relative, a product by 2u + u^2;
  // then k fp32 roundings of at most 2^-24 each.
  const std::int64_t m = 65, n = 70, k = 512;
  for (int form = 0; form < 4; ++form) {
    const StoredMatrix a(m, k, form & 1, 1000 + std::uint64_t(form)), b(k, n, form & 2, 1100 + std::uint64_t(form));
    std::vector<float> c(std::size_t(m * n)), c32(c.size());
    multiply(serial, m, n, k, a.operand(), b.operand(), c.data(), n, Start::zeros(), {Precision::bf16, Isa::best});
    multiply(serial, m, n, k, a.operand(), b.operand(), c32.data(), n, Start::zeros(), {Precision::f32, Isa::best});
    const DoubleProduct exact = product_in_double(a, b, std::vector<float>(c.size()), n, Start::zeros());
    const double product_error = 0x1p-7 + 0x1p-16, sum_error = double(k + 2) * 0x1p-24;
    double worst = 0, worst32 = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const double bound = (product_error + sum_error) * exact.scale[i];
      worst = std::max(worst, std::abs(c[i] - exact.value[i]) / bound);
      worst32 = std::max(worst32, std::abs(c32[i] - exact.value[i]) / bound);
    }
    CAPTURE(form);
    CHECK(worst <= 1.0);
    CHECK(worst > 8 * worst32);  // and bf16 really rounded: far coarser than fp32
  }
}
