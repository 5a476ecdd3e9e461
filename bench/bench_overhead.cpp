// --overhead: what the engine itself costs per node, on graphs whose ops do
// almost nothing (1-element scale and add), so scheduling, allocation and
// gradient bookkeeping are all that is timed:
//   chain — y = scale(y, 0.5) + x repeated: every node waits for the previous;
//   wide  — n independent scale(x, c_i), summed by a balanced tree of adds.
// Reported per node of the graph, for the forward and the backward pass, on
// the TBB executor with --threads workers and on the sequential executor.
#include <nlohmann/json.hpp>

#include "bench/bench_modes.hpp"
#include "engine/leaves.hpp"
#include "ops/elementwise.hpp"

namespace attograd::bench {
namespace {

struct TinyGraph {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  Expr x, y;
};

TinyGraph chain(std::int64_t nodes) {
  TinyGraph t;
  t.x = input(*t.graph, "x", {DType::f32, {1}}, true);
  t.y = t.x;
  while (std::int64_t(t.graph->size()) + 2 <= nodes) t.y = scale(t.y, 0.5) + t.x;
  return t;
}

TinyGraph wide(std::int64_t nodes) {
  TinyGraph t;
  t.x = input(*t.graph, "x", {DType::f32, {1}}, true);
  std::vector<Expr> level;
  for (std::int64_t i = 0; i < nodes / 2; ++i) level.push_back(scale(t.x, 1.0 / double(i + 1)));
  while (level.size() > 1) {
    std::vector<Expr> next;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(level[i] + level[i + 1]);
    if (level.size() % 2) next.push_back(level.back());
    level = std::move(next);
  }
  t.y = level.front();
  return t;
}

nlohmann::json time_graph(const TinyGraph& t, Backend backend, int threads, std::int64_t reps) {
  Executor ex(backend, threads);
  const Feeds feeds{{t.x.id, Tensor::full(DType::f32, {1}, 1.0)}};
  std::vector<double> fwd, bwd;
  for (std::int64_t r = 0; r <= reps; ++r) {
    auto start = Clock::now();
    ex.forward(*t.graph, feeds, {t.y.id});
    const double f = seconds_since(start);
    start = Clock::now();
    ex.backward(t.y.id);
    const double b = seconds_since(start);
    if (r == 0) continue;  // warm-up
    fwd.push_back(f);
    bwd.push_back(b);
  }
  const double n = double(t.graph->size());
  const double f = stats(fwd).median, b = stats(bwd).median;
  return {{"forward_us_per_node", f / n * 1e6}, {"backward_us_per_node", b / n * 1e6},
          {"forward_backward_us_per_node", (f + b) / n * 1e6}};
}

}  // namespace

nlohmann::json run_overhead(const ModeArgs& a) {
  nlohmann::json graphs = nlohmann::json::array();
  for (const char* shape : {"chain", "wide"}) {
    const TinyGraph t = std::string(shape) == "chain" ? chain(a.nodes) : wide(a.nodes);
    graphs.push_back({{"graph", shape},
                      {"nodes", t.graph->size()},
                      {"tbb", time_graph(t, Backend::tbb, a.threads, a.reps)},
                      {"sequential", time_graph(t, Backend::sequential, 1, a.reps)}});
  }
  return {{"mode", "overhead"}, {"threads", a.threads}, {"reps", a.reps}, {"graphs", graphs}};
}

}  // namespace attograd::bench
