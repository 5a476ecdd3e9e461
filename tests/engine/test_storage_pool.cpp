#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>

#include "engine/storage_pool.hpp"
#include "engine/tensor.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

using namespace attograd;

TEST_CASE("a freed tensor buffer is handed out again for the same size") {
  pool_trim();
  const void* first = nullptr;
  {
    Tensor a = Tensor::empty(DType::f32, {1000, 33});
    first = a.raw();
  }
  CHECK(pool_cached_bytes() >= 1000 * 33 * 4);
  Tensor b = Tensor::empty(DType::f32, {33, 1000});  // same bytes, another shape
  CHECK(b.raw() == first);
  CHECK(reinterpret_cast<std::uintptr_t>(b.raw()) % 64 == 0);
}

TEST_CASE("the pool never holds more than the peak of live tensor bytes") {
  pool_trim();
  const std::int64_t base = tensor_bytes_live();
  {
    Tensor big = Tensor::empty(DType::f32, {1 << 20});  // 4 MiB: the peak
  }
  const std::int64_t cached_after_big = pool_cached_bytes();
  CHECK(cached_after_big >= 4 << 20);
  // Two 3 MiB tensors do not fit beside the cached 4 MiB within the peak
  // (base + 4 MiB): the pool frees the cached buffer rather than grow.
  {
    Tensor a = Tensor::empty(DType::f32, {3 << 18});
    Tensor b = Tensor::empty(DType::f32, {3 << 18});
    CHECK(tensor_bytes_live() - base == 2 * (3 << 20));
    CHECK(pool_cached_bytes() == 0);
  }
  CHECK(pool_cached_bytes() == 2 * (3 << 20));
  pool_trim();
  CHECK(pool_cached_bytes() == 0);
}

TEST_CASE("Tensor::zeros clears a reused buffer") {
  pool_trim();
  { Tensor dirty = Tensor::full(DType::f32, {4096}, 7.0); }
  Tensor z = Tensor::zeros(DType::f32, {4096});
  const float* p = z.data<float>();
  CHECK(std::all_of(p, p + 4096, [](float v) { return v == 0.0f; }));
}

#if defined(__SANITIZE_ADDRESS__)
// Without the poisoning a use after release, or a read past a tensor's last
// element inside the 64-byte rounding, would read valid pool memory.
TEST_CASE("under AddressSanitizer, cached buffers and the bytes past a tensor's end are poisoned") {
  pool_trim();
  const char* raw = nullptr;
  {
    Tensor three = Tensor::empty(DType::f32, {3});  // 12 bytes of a 64-byte buffer
    raw = static_cast<const char*>(three.raw());
    CHECK(__asan_region_is_poisoned(const_cast<char*>(raw), 12) == nullptr);
    CHECK(__asan_address_is_poisoned(raw + 12));
    CHECK(__asan_address_is_poisoned(raw + 63));
  }
  CHECK(__asan_address_is_poisoned(raw));  // released to the cache
  Tensor again = Tensor::empty(DType::f32, {16});  // the same 64 bytes, all used
  CHECK(static_cast<const char*>(again.raw()) == raw);
  CHECK(__asan_region_is_poisoned(const_cast<char*>(raw), 64) == nullptr);
  Tensor none = Tensor::empty(DType::f32, {0});
  CHECK(__asan_address_is_poisoned(static_cast<const char*>(none.raw())));
}
#endif
