#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/error.hpp"
#include "engine/tensor.hpp"

using namespace attograd;

TEST_CASE("a tensor built from values reads them back in row-major order") {
  Tensor t = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.numel() == 6);
  CHECK(t.rank() == 2);
  CHECK(t.at({1, 0}) == 4.0);
  CHECK(t.at({0, 2}) == 3.0);
  CHECK(t.data<float>()[5] == 6.0f);
  CHECK(reinterpret_cast<std::uintptr_t>(t.raw()) % 64 == 0);
}

TEST_CASE("a tensor refuses the wrong number of values and the wrong element type") {
  CHECK_THROWS_AS(Tensor::from<float>({2, 2}, {1, 2, 3}), ShapeError);
  Tensor t = Tensor::zeros(DType::f32, {2});
  CHECK_THROWS_AS(t.data<double>(), Error);
}

TEST_CASE("copies alias, clone does not") {
  Tensor a = Tensor::full(DType::f64, {3}, 2.0);
  Tensor b = a;
  Tensor c = a.clone();
  a.data<double>()[0] = 7;
  CHECK(b.at({0}) == 7.0);
  CHECK(c.at({0}) == 2.0);
}

TEST_CASE("reshaped views share storage and check the element count") {
  Tensor a = Tensor::from<std::int32_t>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor v = a.reshaped({3, 2});
  CHECK(v.at({2, 1}) == 5.0);
  CHECK_THROWS_AS(a.reshaped({4}), ShapeError);
}

TEST_CASE("an alias is a range of another tensor's elements: writes show in both, and it keeps them alive") {
  Tensor alias;
  {
    Tensor base = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    alias = Tensor::alias(base, 2, {2, 2});
    CHECK(alias.to_vector() == std::vector<double>{3, 4, 5, 6});
    alias.data<float>()[0] = 30;
    base.data<float>()[5] = 60;
    CHECK(base.at({0, 2}) == 30.0);
    CHECK(alias.at({1, 1}) == 60.0);
    CHECK(Tensor::alias(base, 6, {0}).numel() == 0);  // the empty range past the end
    CHECK_THROWS_AS(Tensor::alias(base, 3, {4}), ShapeError);
    CHECK_THROWS_AS(Tensor::alias(base, -1, {1}), ShapeError);
    CHECK_THROWS_AS(Tensor::alias(base, 0, {-1}), ShapeError);
    CHECK_THROWS_AS(Tensor::alias(Tensor(), 0, {0}), ShapeError);
  }
  CHECK(alias.to_vector() == std::vector<double>{30, 4, 5, 60});  // base is gone, its storage is not
}

TEST_CASE("conversion between dtypes keeps values") {
  Tensor a = Tensor::from<float>({2}, {1.5f, -2.0f});
  Tensor d = a.to(DType::f64);
  CHECK(d.dtype() == DType::f64);
  CHECK(d.at({0}) == 1.5);
  CHECK(d.at({1}) == -2.0);
}

TEST_CASE("broadcast shapes follow numpy") {
  Shape out;
  CHECK(broadcast_shapes({2, 1, 4}, {3, 1}, out));
  CHECK(out == Shape{2, 3, 4});
  CHECK(broadcast_shapes({}, {5}, out));
  CHECK(out == Shape{5});
  CHECK_FALSE(broadcast_shapes({2, 3}, {4, 3}, out));
  CHECK(broadcast_strides({3, 1}, {2, 3, 4}) == Shape{0, 1, 0});
}

TEST_CASE("non-finite values are detected") {
  Tensor a = Tensor::from<float>({2}, {1.0f, 2.0f});
  CHECK_FALSE(a.has_non_finite());
  a.data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK(a.has_non_finite());
}
