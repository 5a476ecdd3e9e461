#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/vec_math.hpp"

using namespace attograd;

namespace {

// Distance in units in the last place between two finite floats of one sign.
std::int64_t ulps(float a, float b) {
  std::int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::abs(static_cast<std::int64_t>(ia) - static_cast<std::int64_t>(ib));
}

std::vector<float> ramp(std::int64_t n, float lo, float hi) {
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    x[static_cast<std::size_t>(i)] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(std::max<std::int64_t>(n - 1, 1));
  return x;
}

}  // namespace

TEST_CASE("vec::exp_shifted is within 3 ulp of std::exp on [-87, 88] and sums what it writes") {
  const std::vector<float> x = ramp(200001, -87.0f, 88.0f);
  std::vector<float> e(x.size());
  const double sum = vec::exp_shifted(x.data(), static_cast<std::int64_t>(x.size()), 0.0f, e.data());
  std::int64_t worst = 0;
  double reference = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, ulps(e[i], std::exp(x[i])));
    reference += static_cast<double>(e[i]);
  }
  CHECK(worst <= 3);
  CHECK(sum == doctest::Approx(reference).epsilon(1e-6));
}

TEST_CASE("vec::exp_shifted gives 0 below the normal range, stays finite above it, and keeps NaN") {
  const float in[] = {-88.0f, -1e4f, -std::numeric_limits<float>::infinity(), 1e4f,
                      std::numeric_limits<float>::quiet_NaN()};
  float out[5];
  vec::exp_shifted(in, 5, 0.0f, out);
  CHECK(out[0] == 0.0f);
  CHECK(out[1] == 0.0f);
  CHECK(out[2] == 0.0f);
  CHECK(std::isfinite(out[3]));
  CHECK(out[3] > 1e38f);
  CHECK(std::isnan(out[4]));
}

TEST_CASE("vec::max, sum and the masked forms agree with plain loops for every length and tail") {
  for (std::int64_t n = 1; n <= 70; ++n) {
    std::vector<float> x(static_cast<std::size_t>(n)), keep(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      x[static_cast<std::size_t>(i)] = std::sin(static_cast<float>(i) * 1.7f) * 10.0f;
      keep[static_cast<std::size_t>(i)] = (i % 3 == 1) ? 0.0f : 1.0f;
    }
    float max = x[0], max_kept = -std::numeric_limits<float>::infinity();
    double sum = 0, sum_abs = 0, sum_kept = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = x[static_cast<std::size_t>(i)];
      max = std::max(max, v);
      sum += v;
      sum_abs += std::abs(v);
      if (keep[static_cast<std::size_t>(i)] != 0) max_kept = std::max(max_kept, v);
    }
    CHECK(vec::max(x.data(), n) == max);
    CHECK(vec::max_masked(x.data(), keep.data(), n) == max_kept);
    CHECK(std::abs(vec::sum(x.data(), n) - sum) <= 1e-12 * sum_abs);
    std::vector<float> e(static_cast<std::size_t>(n));
    const double s = vec::exp_shifted_masked(x.data(), keep.data(), n, max_kept, e.data());
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = x[static_cast<std::size_t>(i)];
      if (keep[static_cast<std::size_t>(i)] == 0) {
        CHECK(e[static_cast<std::size_t>(i)] == 0.0f);
      } else {
        CHECK(e[static_cast<std::size_t>(i)] == doctest::Approx(std::exp(v - max_kept)).epsilon(1e-6));
        sum_kept += static_cast<double>(e[static_cast<std::size_t>(i)]);
      }
    }
    CHECK(s == doctest::Approx(sum_kept).epsilon(1e-6));
  }
}

TEST_CASE("vec::exp_shifted_affine computes (exp(x - shift) - sub) * scale") {
  const float x[] = {0.0f, 1.0f, -2.0f};
  float out[3];
  vec::exp_shifted_affine(x, 3, 1.0f, 0.25f, 2.0f, out);
  CHECK(out[0] == doctest::Approx((std::exp(-1.0) - 0.25) * 2.0));
  CHECK(out[1] == doctest::Approx((1.0 - 0.25) * 2.0));
  CHECK(out[2] == doctest::Approx((std::exp(-3.0) - 0.25) * 2.0));
}

TEST_CASE("vec::keep_where keeps and scales exactly the elements whose word reaches the threshold") {
  for (std::int64_t n : {1, 7, 8, 9, 33}) {
    std::vector<std::uint32_t> words(static_cast<std::size_t>(n));
    std::vector<float> in(static_cast<std::size_t>(n)), out(static_cast<std::size_t>(n), -1.0f);
    for (std::int64_t i = 0; i < n; ++i) {
      words[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i) * 0x9E3779B9u;  // spread over 2^32
      in[static_cast<std::size_t>(i)] = static_cast<float>(i) - 3.5f;
    }
    const std::uint32_t threshold = 0x80000000u;
    vec::keep_where(words.data(), threshold, 2.0f, in.data(), out.data(), n);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      CHECK(out[k] == (words[k] >= threshold ? in[k] * 2.0f : 0.0f));
    }
  }
}

TEST_CASE("vec::keep_where records the decisions as bits, and keep_where_bits applies them again") {
  for (std::int64_t n : {1, 8, 31, 32, 33, 77, 1024}) {
    CAPTURE(n);
    const auto size = static_cast<std::size_t>(n), words_of_bits = static_cast<std::size_t>((n + 31) / 32);
    std::vector<std::uint32_t> words(size), bits(words_of_bits, 0xFFFFFFFFu);  // stale bits must be cleared
    std::vector<float> in(size), out(size), again(size, -1.0f);
    for (std::size_t i = 0; i < size; ++i) {
      words[i] = static_cast<std::uint32_t>(i + 1) * 0x9E3779B9u;
      in[i] = static_cast<float>(i) * 0.5f - 3.0f;
    }
    const std::uint32_t threshold = 0x60000000u;
    vec::keep_where(words.data(), threshold, 4.0f, in.data(), out.data(), n, bits.data());
    std::int64_t wrong_bits = 0, wrong_values = 0;
    for (std::size_t i = 0; i < size; ++i)
      wrong_bits += ((bits[i / 32] >> (i % 32)) & 1u) != (words[i] >= threshold ? 1u : 0u);
    CHECK(wrong_bits == 0);
    if (n % 32 != 0) CHECK((bits.back() >> (n % 32)) == 0u);  // nothing set past n
    vec::keep_where_bits(bits.data(), 4.0f, in.data(), again.data(), n);
    for (std::size_t i = 0; i < size; ++i) wrong_values += again[i] != out[i];
    CHECK(wrong_values == 0);
  }
}
