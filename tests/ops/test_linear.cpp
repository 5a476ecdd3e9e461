#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "ops/elementwise.hpp"
#include "ops/gemm.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

GraphBuilder fused() {
  return [](Graph&, const std::vector<Expr>& in) { return linear(in[0], in[1], in[2]); };
}
GraphBuilder unfused() {
  return [](Graph&, const std::vector<Expr>& in) { return matmul(in[0], in[1], false, true) + in[2]; };
}

// Every element of a and b within tol (same shapes).
void check_tensors_close(const Tensor& a, const Tensor& b, double tol) {
  REQUIRE(a.shape() == b.shape());
  const Tensor da = a.to(DType::f64), db = b.to(DType::f64);
  for (std::int64_t i = 0; i < a.numel(); ++i)
    CHECK(da.data<double>()[i] == doctest::Approx(db.data<double>()[i]).epsilon(tol));
}

}  // namespace

TEST_CASE("linear computes x @ w^T + b as by hand") {
  // x = [[1 2 3] [4 5 6]], w = [[1 0 -1] [2 1 0]], b = [0.5 -1]:
  // row 0: 1 - 3 + 0.5 = -1.5, 2 + 2 - 1 = 3; row 1: 4 - 6 + 0.5 = -1.5, 8 + 5 - 1 = 12.
  const Tensor y = run_forward(fused(), {fixed_input({2, 3}, {1, 2, 3, 4, 5, 6}),
                                         fixed_input({2, 3}, {1, 0, -1, 2, 1, 0}), fixed_input({2}, {0.5, -1})});
  CHECK(y.shape() == Shape{2, 2});
  check_close(y, {-1.5, 3, -1.5, 12});
}

TEST_CASE("linear equals matmul with transpose_b plus the bias, values and gradients") {
  std::vector<std::vector<GradcheckInput>> cases;
  // 1200 and 1030 rows: the weight gradient's contraction (over rows) is
  // long enough to be split in halves (gemm::split_contraction).
  for (const Shape& x : {Shape{3, 4}, Shape{2, 5, 4}, Shape{1, 4}, Shape{2, 600, 4}, Shape{1030, 4}})
    cases.push_back({uniform_input(x), uniform_input({6, 4}), uniform_input({6})});
  // 1025 outputs over 1024 rows: two uneven blocks of the weight gradient
  // (513 and 512 outputs; the second starts at column 513 of g), each over
  // two contraction halves of 512 rows.
  cases.push_back({uniform_input({1024, 3}), uniform_input({1025, 3}), uniform_input({1025})});
  for (const auto& in : cases) {
    INFO(to_string(in[0].shape), " @ ", to_string(in[1].shape));
    const std::vector<Tensor> a = run_all(fused(), in, DType::f64, Backend::sequential, 1);
    const std::vector<Tensor> b = run_all(unfused(), in, DType::f64, Backend::sequential, 1);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) check_tensors_close(a[i], b[i], 1e-12);
  }
}

TEST_CASE("linear with no rows gives zero weight and bias gradients") {
  const std::vector<Tensor> r =
      run_all(fused(), {uniform_input({0, 4}), uniform_input({3, 4}), uniform_input({3})}, DType::f32, Backend::tbb, 2);
  REQUIRE(r.size() == 4);
  CHECK(r[0].shape() == Shape{0, 3});
  CHECK(r[1].shape() == Shape{0, 4});
  check_close(r[2], std::vector<double>(12, 0.0));
  check_close(r[3], {0, 0, 0});
}

TEST_CASE("linear's bias gradient on 2 threads is add's broadcast sum on one, bit for bit") {
  // 130 outputs: sum_to_shape's three blocks of up to 64 columns, each
  // summing 100 rows in order, on TBB here and in one block sequentially.
  const std::vector<GradcheckInput> in{uniform_input({2, 50, 8}), uniform_input({130, 8}), uniform_input({130})};
  const std::vector<Tensor> a = run_all(fused(), in, DType::f32, Backend::tbb, 2);
  const std::vector<Tensor> b = run_all(unfused(), in, DType::f32, Backend::sequential, 1);
  REQUIRE(a.size() == 4);
  REQUIRE(a[3].shape() == Shape{130});
  std::int64_t differ = 0;
  for (std::int64_t i = 0; i < 130; ++i) differ += a[3].data<float>()[i] != b[3].data<float>()[i];
  CHECK(differ == 0);
}

TEST_CASE("linear maps a single vector x (K,) to (N,)") {
  // x = [1 2], w = [[3 4] [5 6] [0 1]], b = [1 0 -1]: 3 + 8 + 1, 5 + 12, 2 - 1.
  const Tensor y = run_forward(fused(), {fixed_input({2}, {1, 2}), fixed_input({3, 2}, {3, 4, 5, 6, 0, 1}),
                                         fixed_input({3}, {1, 0, -1})});
  CHECK(y.shape() == Shape{3});
  check_close(y, {12, 17, 1});
}

TEST_CASE("linear with no input features gives the bias in every row") {
  const Tensor y = run_forward(fused(), {uniform_input({3, 0}), uniform_input({2, 0}), fixed_input({2}, {0.25, -2})});
  CHECK(y.shape() == Shape{3, 2});
  check_close(y, {0.25, -2, 0.25, -2, 0.25, -2});
  const Tensor no_rows = run_forward(fused(), {uniform_input({0, 4}), uniform_input({2, 4}), uniform_input({2})});
  CHECK(no_rows.shape() == Shape{0, 2});
}

TEST_CASE("linear names the shapes when they do not fit") {
  Graph g;
  auto in = [&g](const char* name, Shape s, DType t = DType::f32) { return input(g, name, {t, std::move(s)}); };
  CHECK_THROWS_WITH_AS(linear(in("a", {2, 3}), in("b", {4, 5}), in("c", {4})),
                       doctest::Contains("[linear] x (2, 3) must end in the weight's 5 input features"), ShapeError);
  CHECK_THROWS_WITH_AS(linear(in("d", {2, 3}), in("e", {4, 3}), in("f", {3})),
                       doctest::Contains("[linear] bias (3,) must be (4,), one per output of weight (4, 3)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(linear(in("g", {2, 3}), in("h", {2, 4, 3}), in("i", {4})),
                       doctest::Contains("[linear] weight must be (out, in), got (2, 4, 3)"), ShapeError);
  CHECK_THROWS_WITH_AS(linear(in("j", {2, 3}), in("k", {4, 3}, DType::f64), in("l", {4})),
                       doctest::Contains("[linear] x, weight and bias must share one floating dtype"), ShapeError);
  CHECK_THROWS_WITH_AS(linear(in("m", {}), in("n", {4, 3}), in("o", {4})),
                       doctest::Contains("[linear] x () must end in the weight's 3 input features"), ShapeError);
}

TEST_CASE("linear reports matmul's GEMM flops: 2*M*N*K forward, twice that backward") {
  Graph g;
  const Expr y = linear(input(g, "x", {DType::f32, {2, 3, 4}}), input(g, "w", {DType::f32, {5, 4}}),
                        input(g, "b", {DType::f32, {5}}));
  std::vector<TensorType> in;
  for (NodeId i : y.node().inputs) in.push_back(g.node(i).type);
  const Cost cost = y.node().op->cost(in, y.type());
  CHECK(cost.forward_flops == 2.0 * 6 * 5 * 4);
  CHECK(cost.backward_flops == 2 * cost.forward_flops);
}

TEST_CASE("a weight gradient over 1030 rows is cut into two contraction halves, by sizes alone") {
  // The shapes of the tests above and below take the split path.
  static_assert(gemm::kSplitContraction <= 1030);
  const gemm::ContractionSplit one = gemm::contraction_split(40, 1030);
  CHECK(one.first_half == 528);  // 515 rounded up to 16: halves of 528 and 502 rows
  CHECK(one.rows_per_block == 40);
  const gemm::ContractionSplit two = gemm::contraction_split(1100, 1030);
  CHECK(two.rows_per_block == 550);  // two blocks of outputs of at most 1024
  CHECK(gemm::contraction_split(8000, 2048).rows_per_block == 1000);
  const gemm::ContractionSplit uneven = gemm::contraction_split(1025, 1024);
  CHECK(uneven.first_half == 512);
  CHECK(uneven.rows_per_block == 513);  // blocks of 513 and 512 outputs
}

TEST_CASE("GEMM row blocks go to at least 8 tasks where there are 8 blocks, else ~2 MFLOP a task") {
  // The copy model's attention scores: 240 products of 10 x 64 by 64 x 10,
  // one block each. ~2 MFLOP a task would be 156 blocks, so 2 tasks; a worker
  // descheduled by another process would hold half of the product.
  CHECK(gemm::blocks_per_task(240, 10, 10, 64) == 30);
  CHECK(gemm::blocks_per_task(7, 48, 2048, 512) == 1);  // big blocks: one each
  CHECK(gemm::blocks_per_task(3, 10, 10, 10) == 1);     // fewer than 8 blocks: one each
  CHECK(gemm::blocks_per_task(100000, 1, 1, 1) == 12500);
}

TEST_CASE("linear gives the same bits on every executor when its rows are split into blocks") {
  check_backends_agree(fused(), {uniform_input({2, 300, 64}), uniform_input({48, 64}), uniform_input({48})});
  check_backends_agree(fused(), {uniform_input({300, 16}), uniform_input({520, 16}), uniform_input({520})});
  // Weight gradients split along the 1030 rows, in one and in two blocks of outputs.
  check_backends_agree(fused(), {uniform_input({1030, 8}), uniform_input({40, 8}), uniform_input({40})});
  check_backends_agree(fused(), {uniform_input({1030, 8}), uniform_input({1100, 8}), uniform_input({1100})});
}
