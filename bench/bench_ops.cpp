// --ops: single ops of a configuration's training step, run through the
// engine (executor + profiler, so each time is the node's own duration) and
// set against what the machine does directly:
//   matmul       vs the same GEMMs as direct single-threaded cblas_sgemm calls
//                (and two concurrent callers when --threads > 1);
//   memory-bound vs memcpy of the op's output size, in GB/s, where an op's
//                bytes are those its Op::cost reports (read + written);
//   samples      every registered op on each of its declared samples (the
//                cases tests/ops/test_registered_ops.cpp checks), in f32.
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/bench_blas.hpp"
#include "bench/bench_modes.hpp"
#include "engine/leaves.hpp"
#include "engine/op_samples.hpp"
#include "engine/parameters.hpp"
#include "profile/profiler.hpp"
#include "models/loss.hpp"
#include "ops/builtin.hpp"
#include "ops/dropout.hpp"
#include "ops/layer_norm.hpp"
#include "ops/matmul.hpp"
#include "ops/softmax.hpp"

namespace attograd::bench {
namespace {

Tensor random_floats(const Shape& shape) {
  std::mt19937_64 rng(std::uint64_t(numel(shape)));
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  Tensor v = Tensor::empty(DType::f32, shape);
  for (auto& x : v.span<float>()) x = u(rng);
  return v;
}

Tensor random_ids(const Shape& shape, std::int32_t below) {
  std::mt19937_64 rng(std::uint64_t(numel(shape)));
  std::uniform_int_distribution<std::int32_t> id(1, below - 1);
  Tensor v = Tensor::empty(DType::i32, shape);
  for (auto& x : v.span<std::int32_t>()) x = id(rng);
  return v;
}

// A graph of input leaves and one op, with values for the leaves.
struct OpCase {
  explicit OpCase(std::string n) : name(std::move(n)) {}
  std::string name;
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  Feeds feeds;
  NodeId node = -1;
  bool training = true;
  std::string sample;  // the registered sample it runs, if any

  // An input leaf fed `value` (random floats when undefined).
  Expr leaf(const Shape& shape, bool requires_grad = true, Tensor value = {}) {
    if (!value.defined()) value = random_floats(shape);
    Expr e = input(*graph, fmt::format("x{}", feeds.size()), {value.dtype(), shape}, requires_grad);
    feeds[e.id] = value;
    return e;
  }
};

// Median durations of the op node's forward and backward over `reps` runs
// (after one unrecorded run), as the profiler saw them.
std::pair<double, double> time_op(const OpCase& oc, int threads, std::int64_t reps) {
  Executor ex(Backend::tbb, threads);
  Profiler profiler;
  RunOptions run;
  run.training = oc.training;
  const TensorType& out = oc.graph->node(oc.node).type;
  const Tensor seed = Tensor::full(out.dtype, out.shape, 1.0);
  for (std::int64_t r = 0; r <= reps; ++r) {
    run.step = std::uint64_t(r);
    run.observer = r == 0 ? nullptr : &profiler;
    ex.forward(*oc.graph, oc.feeds, {oc.node}, run);
    if (is_floating(out.dtype)) ex.backward(oc.node, seed);
  }
  std::vector<double> fwd, bwd;
  for (const NodeRecord& n : profiler.profile().nodes)
    if (n.node == oc.node) (n.phase == Phase::forward ? fwd : bwd).push_back(double(n.duration_ns()) * 1e-9);
  return {stats(fwd).median, bwd.empty() ? 0.0 : stats(bwd).median};  // 0: no input wants a gradient
}

std::vector<OpCase> matmul_cases(const BenchConfig& c) {
  const std::int64_t b = c.batch, s = c.src_len, t = c.tgt_len, d = c.d_model, h = c.heads, k = d / h, f = c.d_ff;
  struct Spec {
    const char* name;
    Shape a, b;
    bool tb;
  };
  const Spec specs[] = {
      {"linear D->D   x(B,T,D) @ W(D,D)^T", {b, t, d}, {d, d}, true},
      {"linear D->F   x(B,T,D) @ W(F,D)^T", {b, t, d}, {f, d}, true},
      {"linear F->D   x(B,T,F) @ W(D,F)^T", {b, t, f}, {d, f}, true},
      {"generator     x(B,T,D) @ W(V,D)^T", {b, t, d}, {c.vocab, d}, true},
      {"scores        q(B,H,T,K) @ kT(B,H,K,S)", {b, h, t, k}, {b, h, k, s}, false},
      {"scores        q(B,H,T,K) @ k(B,H,S,K)^T", {b, h, t, k}, {b, h, s, k}, true},
      {"context       w(B,H,T,S) @ v(B,H,S,K)", {b, h, t, s}, {b, h, s, k}, false},
  };
  std::vector<OpCase> cases;
  for (const Spec& sp : specs) {
    OpCase oc(sp.name);
    oc.node = matmul(oc.leaf(sp.a), oc.leaf(sp.b), false, sp.tb).id;
    cases.push_back(std::move(oc));
  }
  return cases;
}

std::vector<OpCase> memory_cases(const BenchConfig& c) {
  const std::int64_t b = c.batch, s = c.src_len, t = c.tgt_len, d = c.d_model, h = c.heads;
  std::vector<OpCase> cases;
  OpCase sm("masked_softmax (B,H,T,S)");
  const Tensor keep_all = Tensor::full(DType::f32, {b, 1, 1, s}, 1.0);
  sm.node = masked_softmax(sm.leaf({b, h, t, s}), sm.leaf({b, 1, 1, s}, false, keep_all)).id;
  cases.push_back(std::move(sm));
  OpCase ln("layer_norm (B,T,D)");
  ln.node = layer_norm(ln.leaf({b, t, d}), ln.leaf({d}), ln.leaf({d})).id;
  cases.push_back(std::move(ln));
  OpCase dr("dropout p=0.1 (B,T,F)");
  dr.node = dropout(dr.leaf({b, t, c.d_ff}), 0.1).id;
  cases.push_back(std::move(dr));
  OpCase ce("label-smoothed cross-entropy (B,T,V)");
  ce.node = label_smoothed_loss(ce.leaf({b, t, c.vocab}), ce.leaf({b, t}, false, random_ids({b, t}, std::int32_t(c.vocab))), 0, 0.1).id;
  cases.push_back(std::move(ce));
  return cases;
}

// A sample input's value in f32 (or its integer dtype): as declared, or
// uniform in its [low, high).
Tensor sample_value(const GradcheckInput& in, std::uint64_t key) {
  if (in.value.defined()) return in.value.to(is_floating(in.dtype) ? DType::f32 : in.dtype);
  Tensor t = Tensor::empty(DType::f32, in.shape);
  initialize(t, Init::uniform(in.low, in.high), key);
  return t;
}

// Every registered op alone on each of its samples (engine/op_samples.hpp).
std::vector<OpCase> sample_cases() {
  ensure_builtin_ops();
  const OpRegistry& registry = default_registry();
  std::vector<OpCase> cases;
  for (const std::string& name : registry.names())
    for (const OpSample& sample : registry.schema(name).samples) {
      OpCase oc(name);
      oc.training = sample.training;
      oc.sample = samples::describe(sample);
      std::vector<Expr> inputs;
      for (const GradcheckInput& in : sample.inputs)
        inputs.push_back(oc.leaf(in.shape, is_floating(in.dtype) && in.differentiable,
                                 sample_value(in, std::uint64_t(inputs.size()))));
      oc.node = oc.graph->add(registry.create(name, sample.attributes), inputs).id;
      cases.push_back(std::move(oc));
    }
  return cases;
}

// Direct cblas_sgemm seconds for the GEMMs of `phase` in a matmul case.
double direct_seconds(const std::vector<GemmCall>& calls, Phase phase, int callers, double min_seconds) {
  double s = 0;
  for (const GemmCall& g : calls)
    if (g.phase == phase) s += time_gemm(g.gemm, callers, min_seconds).wall_s;
  return s;
}

nlohmann::json matmul_row(const OpCase& oc, const ModeArgs& a) {
  const auto [fwd, bwd] = time_op(oc, a.threads, a.reps);
  const std::vector<GemmCall> calls = training_gemms(*oc.graph);
  double flops_f = 0, flops_b = 0;
  for (const GemmCall& g : calls) (g.phase == Phase::forward ? flops_f : flops_b) += g.gemm.flops();
  nlohmann::json row{{"op", oc.name},
                     {"forward_s", fwd},
                     {"backward_s", bwd},
                     {"forward_gflops", flops_f / fwd * 1e-9},
                     {"backward_gflops", flops_b / bwd * 1e-9}};
  for (int callers = 1; callers <= std::min(a.threads, 2); ++callers) {
    const std::string key = callers == 1 ? "sgemm_1_caller" : "sgemm_2_callers";
    const double df = direct_seconds(calls, Phase::forward, callers, a.min_seconds);
    const double db = direct_seconds(calls, Phase::backward, callers, a.min_seconds);
    row[key] = {{"forward_s", df}, {"backward_s", db}, {"forward_gflops", flops_f / df * 1e-9},
                {"backward_gflops", flops_b / db * 1e-9}};
  }
  return row;
}

nlohmann::json memory_row(const OpCase& oc, const ModeArgs& a) {
  const auto [fwd, bwd] = time_op(oc, a.threads, a.reps);
  const Node& n = oc.graph->node(oc.node);
  std::vector<TensorType> in;
  for (NodeId i : n.inputs) in.push_back(oc.graph->node(i).type);
  const Cost cost = n.op->cost(in, n.type);
  const auto bytes = std::size_t(numel(in[0].shape) * 4);  // the op's main tensor
  const double copy = time_memcpy(bytes, a.min_seconds);
  return {{"op", oc.name},
          {"forward_s", fwd},
          {"backward_s", bwd},
          {"forward_bytes", cost.forward_bytes},
          {"backward_bytes", cost.backward_bytes},
          {"forward_gbps", cost.forward_bytes / fwd * 1e-9},
          {"backward_gbps", cost.backward_bytes / bwd * 1e-9},
          {"memcpy_bytes", bytes},
          {"memcpy_gbps", 2.0 * double(bytes) / copy * 1e-9}};
}

nlohmann::json sample_row(const OpCase& oc, const ModeArgs& a) {
  const auto [fwd, bwd] = time_op(oc, a.threads, a.reps);
  return {{"op", oc.name}, {"sample", oc.sample}, {"forward_s", fwd}, {"backward_s", bwd}};
}

}  // namespace

nlohmann::json run_ops(const ModeArgs& a) {
  const BenchConfig& c = find_config(a.config);
  nlohmann::json matmuls = nlohmann::json::array(), others = nlohmann::json::array();
  for (const OpCase& oc : matmul_cases(c)) matmuls.push_back(matmul_row(oc, a));
  for (const OpCase& oc : memory_cases(c)) others.push_back(memory_row(oc, a));
  nlohmann::json sampled = nlohmann::json::array();
  for (const OpCase& oc : sample_cases()) sampled.push_back(sample_row(oc, a));
  return {{"mode", "ops"}, {"config", c.name}, {"threads", a.threads}, {"reps", a.reps},
          {"matmul", matmuls}, {"memory_bound", others}, {"samples", sampled}};
}

}  // namespace attograd::bench
