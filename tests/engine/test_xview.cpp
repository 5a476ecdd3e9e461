#include <doctest/doctest.h>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "engine/xview.hpp"

using namespace attograd;

TEST_CASE("an xtensor view reads and writes a tensor's storage in place") {
  Tensor t = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto v = xview<float>(t);
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v(1, 0) == 4.0f);
  v(1, 2) = 7.0f;
  CHECK(t.at({1, 2}) == 7.0);
  const xt::xarray<float> rows = xt::sum(v, {1});  // evaluated into a container
  CHECK(rows(0) == 6.0f);
  CHECK(rows(1) == 16.0f);
}

TEST_CASE("a view of a const tensor reads without copying") {
  const Tensor t = Tensor::from<double>({3}, {0.5, 1.5, 2.5});
  auto v = xview<double>(t);
  CHECK(v.data() == t.data<double>());
  CHECK(xt::sum(v)() == doctest::Approx(4.5));
}
