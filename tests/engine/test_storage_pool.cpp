#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>

#include "engine/storage_pool.hpp"
#include "engine/tensor.hpp"

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
