#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "engine/rng.hpp"

using namespace attograd;

TEST_CASE("philox_block gives the words of philox for every counter, in SIMD lanes and in the tail") {
  const std::uint64_t key = mix_keys(7, 3);
  // Counts below, at and past the 8 AVX2 lanes; a start that carries into the
  // counter's upper 32 bits halfway through.
  for (const std::uint64_t first : {std::uint64_t{0}, std::uint64_t{0xFFFFFFF8u}, std::uint64_t{123456789}}) {
    for (const std::int64_t count : {1, 15, 16, 17, 40}) {
      std::vector<std::uint32_t> words(static_cast<std::size_t>(4 * count));
      philox_block(key, 9, first, count, words.data());
      std::int64_t mismatches = 0;
      for (std::int64_t j = 0; j < count; ++j) {
        const auto w = philox(key, 9, first + static_cast<std::uint64_t>(j));
        for (int k = 0; k < 4; ++k) mismatches += words[static_cast<std::size_t>(4 * j + k)] != w[static_cast<std::size_t>(k)];
      }
      CHECK_MESSAGE(mismatches == 0, "first ", first, " count ", count);
    }
  }
}

TEST_CASE("philox matches Random123's published known-answer vector") {
  // Philox4x32-10 with counter 0 and key 0 (Random123's kat_vectors).
  const auto w = philox(0, 0, 0);
  CHECK(w[0] == 0x6627e8d5u);
  CHECK(w[1] == 0xe169c58du);
  CHECK(w[2] == 0xbc57ac4cu);
  CHECK(w[3] == 0x9b00dbd8u);
}
