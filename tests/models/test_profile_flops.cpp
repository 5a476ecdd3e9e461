// The profiler's FLOP counts of attention against the analytic count.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "profile/profile_report.hpp"
#include "profile/profiler.hpp"
#include "models/attention.hpp"
#include "ops/mask.hpp"
#include "ops/reduce.hpp"

using namespace attograd;

TEST_CASE("GEMM FLOPs reported for multi-head attention equal the analytic count") {
  const std::int64_t b = 2, t = 3, s = 5, d = 8, h = 2, k = d / h;
  ParameterStore store(1);
  Graph g(&store);
  Expr q = input(g, "q", {DType::f32, {b, t, d}}, true);
  Expr kv = input(g, "kv", {DType::f32, {b, s, d}}, true);
  Expr ids = input(g, "ids", {DType::i32, {b, s}});
  Expr loss = sum(multi_head_attention(q, kv, padding_mask(ids, 0), h, 0.0).output);

  Profiler prof;
  RunOptions o;
  o.observer = &prof;
  Executor ex(Backend::tbb, 2);
  ex.forward(g, {{q.id, Tensor::full(DType::f32, {b, t, d}, 0.1)}, {kv.id, Tensor::full(DType::f32, {b, s, d}, 0.2)},
                 {ids.id, Tensor::full(DType::i32, {b, s}, 1)}}, {loss.id}, o);
  ex.backward(loss.id);

  // Projections (linear ops): q and out over B*T rows, k and v over B*S
  // rows, each (D x D). Scores (B,H,T,K)@(B,H,K,S) and weights
  // (B,H,T,S)@(B,H,S,K) (matmul ops): 2*B*H*T*S*K each.
  const double projections = 2.0 * (2 * b * t * d * d + 2 * b * s * d * d);
  const double attention = 2.0 * (2 * b * h * t * s * k);
  struct Seen {
    double forward = -1, backward = -1;
    std::int64_t calls = 0;
  };
  std::map<std::string, Seen> seen;
  for (const OpStats& row : op_table(prof.profile())) {
    if (row.op != "matmul" && row.op != "linear") continue;
    Seen& s = seen[row.op];
    if (row.phase == "forward") s.forward = row.flops, s.calls = row.calls;
    if (row.phase == "backward") s.backward = row.flops;
  }
  CHECK(seen["linear"].calls == 4);
  CHECK(seen["linear"].forward == doctest::Approx(projections));
  CHECK(seen["linear"].backward == doctest::Approx(2 * projections));  // dx and dw: one GEMM each
  CHECK(seen["matmul"].calls == 2);
  CHECK(seen["matmul"].forward == doctest::Approx(attention));
  CHECK(seen["matmul"].backward == doctest::Approx(2 * attention));
}
