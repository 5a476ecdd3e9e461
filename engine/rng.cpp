#include "engine/rng.hpp"

#include <Random123/philox.h>

#include <immintrin.h>

#include <algorithm>

namespace attograd {

std::array<std::uint32_t, 4> philox(std::uint64_t key, std::uint64_t counter_hi, std::uint64_t counter_lo) {
  r123::Philox4x32 rng;
  r123::Philox4x32::ctr_type ctr = {{static_cast<std::uint32_t>(counter_lo), static_cast<std::uint32_t>(counter_lo >> 32),
                                     static_cast<std::uint32_t>(counter_hi), static_cast<std::uint32_t>(counter_hi >> 32)}};
  r123::Philox4x32::key_type k = {{static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}};
  const auto r = rng(ctr, k);
  return {r[0], r[1], r[2], r[3]};
}

namespace {

// Philox4x32-10 on 8 counters at once in AVX2 registers, one 32-bit lane per
// counter. The arithmetic is Random123's: per round
//   (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))
// with the key bumped by the Weyl constants between rounds. Integer
// arithmetic: the same bits as the scalar philox(), which CPUs without AVX2 use.
constexpr std::int64_t kLanes = 8;

// hi and lo 32 bits of m * c in each lane: vpmuludq multiplies the even
// lanes, a 64-bit shift brings the odd lanes down for a second one.
__attribute__((target("avx2"))) inline void mulhilo8(__m256i m, __m256i c, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(c, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

__attribute__((target("avx2"))) void philox8_avx2(std::uint64_t key, std::uint64_t counter_hi, std::uint64_t first,
                                                   std::uint32_t* out) {
  alignas(32) std::uint32_t lo32[kLanes], hi32[kLanes];
  for (int j = 0; j < kLanes; ++j) {
    const std::uint64_t c = first + static_cast<std::uint64_t>(j);
    lo32[j] = static_cast<std::uint32_t>(c);
    hi32[j] = static_cast<std::uint32_t>(c >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo32));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi32));
  __m256i c2 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(counter_hi)));
  __m256i c3 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(counter_hi >> 32)));
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u)), m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    __m256i hi0, lo0, hi1, lo1;
    mulhilo8(m0, c0, hi0, lo0);
    mulhilo8(m1, c2, hi1, lo1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
  }
  alignas(32) std::uint32_t w[4][kLanes];
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[0]), c0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[1]), c1);
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[2]), c2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(w[3]), c3);
  for (int j = 0; j < kLanes; ++j)
    for (int k = 0; k < 4; ++k) out[4 * j + k] = w[k][j];
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

}  // namespace

void philox_block(std::uint64_t key, std::uint64_t counter_hi, std::uint64_t first, std::int64_t count,
                  std::uint32_t* out) {
  std::int64_t j = 0;
  if (has_avx2())
    for (; j + kLanes <= count; j += kLanes) philox8_avx2(key, counter_hi, first + static_cast<std::uint64_t>(j), out + 4 * j);
  for (; j < count; ++j) {
    const auto w = philox(key, counter_hi, first + static_cast<std::uint64_t>(j));
    std::copy(w.begin(), w.end(), out + 4 * j);
  }
}

std::uint64_t hash_name(std::string_view name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::uint64_t mix_keys(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace attograd
