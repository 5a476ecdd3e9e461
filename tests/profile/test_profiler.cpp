#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "profile/chrome_trace.hpp"
#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "profile/graph_dot.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "profile/profile_report.hpp"
#include "profile/profile_util.hpp"
#include "profile/profiler.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"

using namespace attograd;

namespace {

// A small model with Transformer-like scopes: encoder.layers.{0,1}.ff.*
// Parameters require gradients, the input does not.
struct Toy {
  ParameterStore store{7};
  Graph g{&store};
  Expr x, loss;

  explicit Toy(const std::string& top = "encoder") {
    x = input(g, "x", {DType::f32, {4, 8}});
    Expr h = x;
    {
      auto top_scope = g.scope(top);
      auto layers = g.scope("layers");
      for (int i = 0; i < 2; ++i) {
        auto layer = g.scope(std::to_string(i));
        {
          auto ff = g.scope("ff");
          Expr w = parameter(g, "weight", {8}, Init::uniform(0.5, 1.5));
          Expr b = parameter(g, "bias", {4, 1}, Init::uniform(-0.1, 0.1));
          h = relu(h * w + b);
        }
        h = h + scale(exp(scale(h, -1.0)), 0.5);
      }
      h = reshape(transpose(h), {4, 8});
    }
    loss = mean(h * h);
  }
  Feeds feeds() const { return {{x.id, Tensor::full(DType::f32, {4, 8}, 0.25)}}; }
};

// Forwards every event to a profiler and counts them independently.
struct Tee final : ExecutionObserver {
  ExecutionObserver* next;
  std::mutex mutex;
  std::map<std::pair<NodeId, Phase>, int> seen;
  explicit Tee(ExecutionObserver* n) : next(n) {}
  void on_run_begin(const RunInfo& r) override { next->on_run_begin(r); }
  void on_run_end(const RunInfo& r) override { next->on_run_end(r); }
  void on_node(const NodeEvent& e) override {
    next->on_node(e);
    std::lock_guard lock(mutex);
    ++seen[{e.node, e.phase}];
  }
};

// forward + backward (+ an "optimizer.step" span) per step.
void train_steps(Toy& t, Executor& ex, Profiler& prof, int steps, ExecutionObserver* observer = nullptr) {
  RunOptions o;
  o.observer = observer != nullptr ? observer : &prof;
  o.training = true;
  const Feeds feeds = t.feeds();
  for (int s = 0; s < steps; ++s) {
    ex.forward(t.g, feeds, {t.loss.id}, o);
    ex.backward(t.loss.id);
    auto span = prof.span("optimizer.step");
  }
}

// The profile of `steps` training steps of `t`.
Profile profile_training(Toy& t, Backend backend, int threads, int steps) {
  Executor ex(backend, threads);
  Profiler prof;
  train_steps(t, ex, prof, steps);
  return prof.profile();
}

double cost_flops(const Graph& g, NodeId n, Phase phase) {
  const Cost c = profile_util::node_cost(g, n);
  return phase == Phase::forward ? c.forward_flops : c.backward_flops;
}

}  // namespace

TEST_CASE("the profiler records every node exactly once per phase and step, on every backend") {
  for (auto [backend, threads] : {std::pair{Backend::sequential, 1}, {Backend::tbb, 2}, {Backend::threads, 3}}) {
    INFO("threads " << threads);
    Toy t;
    Profiler prof;
    Executor ex(backend, threads);
    Tee tee(&prof);
    train_steps(t, ex, prof, 3, &tee);
    const Profile p = prof.profile();
    REQUIRE(p.steps.size() == 3);
    CHECK(p.nodes.size() == prof.event_count());
    std::size_t expected = 0;
    for (const auto& [key, count] : tee.seen) {
      CHECK(count == 3);  // the executor reported it once per step
      expected += 3;
    }
    CHECK(p.nodes.size() == expected);
    for (int step = 0; step < 3; ++step) {
      auto [b, e] = p.step_nodes(step);
      std::map<std::pair<NodeId, Phase>, int> in_step;
      for (const NodeRecord* r = b; r != e; ++r) {
        ++in_step[{r->node, r->phase}];
        CHECK(r->start_ns <= r->end_ns);
        CHECK(r->worker < p.lanes);
        CHECK(r->start_ns >= p.steps[step].begin_ns);
        CHECK(r->end_ns <= p.steps[step].end_ns);
      }
      CHECK(in_step.size() == tee.seen.size());
      for (const auto& [key, count] : in_step) CHECK(count == 1);
      std::size_t forward = 0;
      for (const auto& [key, count] : in_step) forward += key.second == Phase::forward;
      CHECK(forward == t.g.size());  // every node is needed by the loss
    }
    CHECK(p.steps[0].backward_from == t.loss.id);
    CHECK(p.spans.size() == 3);
    CHECK(p.spans[2].step == 2);
  }
}

TEST_CASE("the profiler samples one step in k and stops before its event budget") {
  Toy t;
  Executor ex(Backend::sequential);
  Profiler every_other({.record_every = 2});
  train_steps(t, ex, every_other, 5);
  const Profile p = every_other.profile();
  REQUIRE(p.steps.size() == 3);
  CHECK(p.steps[1].index == 2);
  CHECK(p.spans.size() == 3);  // spans of unrecorded steps are dropped

  Profiler small({.max_events = 2 * t.g.size() + 1});
  train_steps(t, ex, small, 3);
  CHECK(small.profile().steps.size() == 1);
  CHECK(small.event_count() <= 2 * t.g.size() + 1);
}

TEST_CASE("runs without an observer leave the profiler untouched") {
  Toy t;
  Executor ex(Backend::tbb, 2);
  Profiler prof;
  train_steps(t, ex, prof, 1);
  const std::size_t recorded = prof.event_count();
  ex.forward(t.g, t.feeds(), {t.loss.id});
  ex.backward(t.loss.id);
  CHECK(prof.event_count() == recorded);
  prof.clear();
  CHECK(prof.event_count() == 0);
  CHECK(prof.profile().steps.empty());
}

TEST_CASE("the op table's FLOPs are the sum of Op::cost over the calls") {
  Toy t;
  const Profile p = profile_training(t, Backend::tbb, 2, 2);
  std::map<std::pair<std::string, std::string>, double> expected_flops;
  std::map<std::pair<std::string, std::string>, std::int64_t> expected_calls;
  for (const NodeRecord& r : p.nodes) {
    const std::pair key{t.g.node(r.node).op->name(), std::string(phase_name(r.phase))};
    expected_flops[key] += cost_flops(t.g, r.node, r.phase);
    ++expected_calls[key];
  }
  const std::vector<OpStats> rows = op_table(p);
  double total_flops = 0;
  for (const OpStats& row : rows) {
    INFO(row.op << " " << row.phase);
    total_flops += row.flops;
    if (row.phase == "span") {
      CHECK(row.op == "optimizer.step");
      CHECK(row.calls == 2);
      continue;
    }
    CHECK(row.flops == doctest::Approx(expected_flops.at({row.op, row.phase})));
    CHECK(row.calls == expected_calls.at({row.op, row.phase}));
    CHECK(row.max_ns * row.calls >= row.total_ns);
    CHECK(row.share <= 1.0);
  }
  // Per step three muls of 32 elements (one per layer, one in the loss), one flop each.
  CHECK(expected_flops.at({"mul", "forward"}) == 2 * (2 * 32 + 32));
  CHECK(total_flops > 0);
  CHECK(std::is_sorted(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.total_ns > b.total_ns; }));
  const std::string text = format_op_table(rows);
  CHECK(text.find("GFLOP/s") != std::string::npos);
  CHECK(text.find("optimizer.step") != std::string::npos);
}

TEST_CASE("the scope roll-up sums the time of every node below each prefix") {
  Toy t;
  const Profile p = profile_training(t, Backend::threads, 2, 2);
  const std::vector<ScopeStats> rows = scope_rollup(p, ScopeOrder::by_name);
  std::map<std::string, ScopeStats> by_scope;
  for (const ScopeStats& s : rows) by_scope[s.scope] = s;
  for (const char* s : {"", "encoder", "encoder.layers", "encoder.layers.0", "encoder.layers.1",
                        "encoder.layers.0.ff", "encoder.layers.1.ff"})
    CHECK_MESSAGE(by_scope.count(s) == 1, s);
  CHECK(by_scope.count("encoder.layers.0.ff.mul") == 0);  // a node, not a scope

  for (const auto& [scope, stats] : by_scope) {
    std::int64_t total = 0, calls = 0;
    for (const NodeRecord& r : p.nodes) {
      const std::string& label = t.g.node(r.node).label;
      if (scope.empty() || label.rfind(scope + ".", 0) == 0) {
        total += r.duration_ns();
        ++calls;
      }
    }
    INFO(scope);
    CHECK(stats.total_ns() == total);
    CHECK(stats.calls == calls);
  }
  // Children plus the nodes directly in a scope make up the parent.
  const ScopeStats& layers = by_scope["encoder.layers"];
  CHECK(by_scope["encoder.layers.0"].total_ns() + by_scope["encoder.layers.1"].total_ns() <= layers.total_ns());
  CHECK(by_scope[""].share == doctest::Approx(1.0));
  CHECK(by_scope["encoder.layers.0"].depth == 3);

  const std::vector<ScopeStats> by_time = scope_rollup(p, ScopeOrder::by_time, 2);
  CHECK(std::is_sorted(by_time.begin(), by_time.end(), [](auto& a, auto& b) { return a.total_ns() > b.total_ns(); }));
  for (const ScopeStats& s : by_time) CHECK(s.depth <= 2);
  CHECK(format_scope_rollup(rows).find("encoder.layers.1.ff") != std::string::npos);
}

TEST_CASE("the critical path never exceeds the wall time, and the worker time adds up") {
  for (auto [backend, threads] : {std::pair{Backend::sequential, 1}, {Backend::tbb, 2}, {Backend::threads, 2}}) {
    INFO("threads " << threads);
    Toy t;
    const Profile p = profile_training(t, backend, threads, 3);
    const ParallelismReport r = parallelism_report(p);
    CHECK(r.steps == 3);
    CHECK(r.critical_path_ns > 0);
    CHECK(r.critical_path_ns <= r.wall_ns);
    CHECK(r.critical_path_ns <= r.work_ns);
    std::int64_t longest = 0, wall = 0;
    for (const NodeRecord& n : p.nodes) longest = std::max(longest, n.duration_ns());
    for (const StepRecord& s : p.steps) wall += s.forward_ns + s.backward_ns;
    CHECK(r.wall_ns == wall);
    CHECK(r.critical_path_ns >= longest);
    CHECK(r.average_concurrency <= threads + 1e-9);
    REQUIRE(r.workers.size() >= 1);
    for (const WorkerUsage& w : r.workers) CHECK(w.busy_ns + w.idle_ns >= wall);
    // The path is a chain of dependencies from a leaf to the last backward.
    REQUIRE(!r.critical_path.empty());
    CHECK(t.g.node(r.critical_path.front().node).inputs.empty());
    CHECK(r.critical_path.back().phase == Phase::backward);
    CHECK(format_parallelism_report(r).find("critical path") != std::string::npos);
  }
}

TEST_CASE("the critical path of a hand-made schedule follows the slowest chain forward and backward") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2}}, true);
  Expr a = exp(x), b = relu(x), c = a + b, loss = sum(c);
  // (node, phase, worker, start, end)
  const std::vector<std::tuple<Expr, Phase, int, int, int>> schedule = {
      {x, Phase::forward, 0, 0, 1},       {a, Phase::forward, 0, 1, 11},      {b, Phase::forward, 1, 1, 4},
      {c, Phase::forward, 0, 11, 12},     {loss, Phase::forward, 0, 12, 13},  {loss, Phase::backward, 0, 20, 21},
      {c, Phase::backward, 0, 21, 22},    {a, Phase::backward, 0, 22, 30},    {b, Phase::backward, 1, 22, 23},
      {x, Phase::backward, 0, 30, 31}};
  Profile p;
  p.lanes = 2;
  p.steps.push_back({.graph = &g, .workers = 2, .targets = {loss.id}, .backward_from = loss.id, .begin_ns = 0,
                     .end_ns = 31, .forward_ns = 13, .backward_ns = 11});
  for (auto [e, phase, worker, start, end] : schedule)
    p.nodes.push_back({.node = e.id, .phase = phase, .worker = worker, .step = 0, .start_ns = start, .end_ns = end});
  const ParallelismReport r = parallelism_report(p);
  CHECK(r.critical_path_ns == 24);  // 1 + 10 + 1 + 1 forward, 1 + 1 + 8 + 1 backward
  std::vector<NodeId> path;
  for (const PathNode& n : r.critical_path) path.push_back(n.node);
  CHECK(path == std::vector<NodeId>{x.id, a.id, c.id, loss.id, loss.id, c.id, a.id, x.id});
  CHECK(r.work_ns == 28);
  REQUIRE(r.workers.size() == 2);
  CHECK(r.workers[0].busy_ns == 24);
  CHECK(r.workers[1].busy_ns == 4);
  CHECK(r.workers[1].idle_ns == 20);
  CHECK(r.average_concurrency == doctest::Approx(28.0 / 24.0));
}

TEST_CASE("the memory report names the tensors alive at the peak") {
  // x (1000) -> exp -> exp -> sum, forward only: the peak holds both exps.
  Graph g;
  Expr x = input(g, "x", {DType::f32, {1000}});
  Expr e1 = exp(x), e2 = exp(e1), s = sum(e2);
  Executor ex(Backend::sequential);
  Profiler prof;
  RunOptions o;
  o.observer = &prof;
  ex.forward(g, {{x.id, Tensor::zeros(DType::f32, {1000})}}, {s.id}, o);
  const MemoryReport m = memory_report(prof.profile());
  CHECK(m.resident_bytes == 4000);
  CHECK(m.peak_bytes == 8000);
  CHECK(m.peak_node == e2.id);
  REQUIRE(m.alive_at_peak.size() == 2);
  CHECK(m.alive_at_peak[0].label == "exp");
  CHECK(m.alive_at_peak[1].label == "exp_1");
  CHECK(m.measured_peak_bytes >= m.peak_bytes);
  REQUIRE(m.per_node.size() == 4);
  CHECK(m.per_node[1].forward_bytes == 4000);
  CHECK(format_memory_report(m).find("exp_1") != std::string::npos);
  CHECK_THROWS_AS(memory_report(prof.profile(), 5), Error);
}

TEST_CASE("the memory report lists the nodes that allocated the most, with label, op and bytes, largest first") {
  // exp allocates its value (4000 B) and the gradient it sends x (4000 B);
  // the sum its value (4 B) and the gradient it sends exp (4000 B); x is resident.
  Graph g;
  Expr x = input(g, "x", {DType::f32, {1000}}, true);
  Expr e;
  {
    auto s = g.scope("big");
    e = exp(x);
  }
  Expr total = sum(e);
  Executor ex(Backend::sequential);
  Profiler prof;
  RunOptions o;
  o.observer = &prof;
  ex.forward(g, {{x.id, Tensor::zeros(DType::f32, {1000})}}, {total.id}, o);
  ex.backward(total.id);
  const MemoryReport m = memory_report(prof.profile());
  REQUIRE(m.per_node.size() == 3);
  CHECK(m.per_node[1].op == "exp");
  CHECK(m.per_node[1].allocated_bytes() == 8000);
  CHECK(m.per_node[0].leaf);
  CHECK(m.per_node[0].allocated_bytes() == 0);

  const std::string text = format_memory_report(m);
  INFO(text);
  const std::size_t heading = text.find("allocated per node");
  REQUIRE(heading != std::string::npos);
  std::vector<std::string> rows;  // the table's lines after its header and rule
  std::istringstream lines(text.substr(heading));
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  REQUIRE(rows.size() == 5);
  CHECK(rows[1].find("node") == 0);
  CHECK(rows[1].find("total") != std::string::npos);
  auto bytes = [](double b) { return profile_util::format_bytes(b); };
  CHECK(rows[3] == fmt::format("big.exp  exp  {}  {}  {}", bytes(4000), bytes(4000), bytes(8000)));
  CHECK(rows[4].find("sum") == 0);
  CHECK(rows[4].find(bytes(4004)) != std::string::npos);  // leaves allocate nothing: no row for x

  const std::string capped = format_memory_report(m, 1);
  CHECK(capped.find("(1 more nodes)") != std::string::npos);
}

TEST_CASE("a training step's memory peak holds at least its largest value, and the alive tensors add up to it") {
  Toy t;
  const MemoryReport m = memory_report(profile_training(t, Backend::tbb, 2, 2));
  CHECK(m.step == 1);
  std::int64_t largest = 0;
  for (const Node& n : t.g.nodes())
    if (!n.inputs.empty()) largest = std::max(largest, numel(n.type.shape) * 4);
  CHECK(m.peak_bytes >= largest);
  std::int64_t alive = 0;
  for (const LiveTensor& l : m.alive_at_peak) alive += l.bytes;
  CHECK(alive == m.peak_bytes);
  CHECK(m.resident_bytes == (32 + 2 * (8 + 4)) * 4);  // f32 x (4, 8) and 2 x (weight (8), bias (4, 1))
  CHECK(m.measured_peak_bytes > 0);
}

TEST_CASE("the Chrome trace is valid JSON with one complete event per node execution and span") {
  Toy t("enc\"oder\\x");  // a scope name that needs escaping
  const Profile p = profile_training(t, Backend::tbb, 2, 2);
  std::ostringstream out;
  const std::size_t written = write_chrome_trace(p, out);
  CHECK(written == p.nodes.size() + p.spans.size());
  const nlohmann::json j = nlohmann::json::parse(out.str());
  REQUIRE(j.at("traceEvents").is_array());
  std::set<int> named_lanes, used_lanes;
  std::size_t complete = 0;
  bool saw_escaped_scope = false;
  for (const auto& e : j["traceEvents"]) {
    if (e.at("ph") == "M") {
      if (e.at("name") == "thread_name") named_lanes.insert(e.at("tid").get<int>());
      continue;
    }
    ++complete;
    CHECK(e.at("ph") == "X");
    CHECK(e.at("pid").is_number_integer());
    CHECK(e.at("ts").is_number());
    CHECK(e.at("dur").get<double>() >= 0);
    used_lanes.insert(e.at("tid").get<int>());
    const std::string cat = e.at("cat");
    CHECK((cat == "forward" || cat == "backward" || cat == "span"));
    if (cat == "span") continue;
    CHECK(e.at("args").at("flops").is_number());
    CHECK(e.at("args").at("shape").is_string());
    const std::string scope = e.at("args").at("scope");
    saw_escaped_scope |= scope.rfind("enc\"oder\\x.layers.", 0) == 0;
  }
  CHECK(complete == written);
  CHECK(saw_escaped_scope);
  for (int lane : used_lanes) CHECK(named_lanes.count(lane) == 1);

  std::ostringstream limited;
  CHECK(write_chrome_trace(p, limited, {.max_events = 5}) == 5);
  const nlohmann::json k = nlohmann::json::parse(limited.str());
  CHECK(k.at("otherData").at("dropped_events") == written - 5);
  std::ostringstream sampled;
  const std::size_t half = write_chrome_trace(p, sampled, {.every_step = 2});
  CHECK(half == written / 2);
}

TEST_CASE("the DOT of a profiled graph has scope clusters and renders with Graphviz") {
  Toy t("enc\"oder\\x");
  const Profile p = profile_training(t, Backend::sequential, 1, 1);
  const std::string dot = to_dot(t.g, {.profile = &p, .backward_edges = true});
  CHECK(dot.find("subgraph \"cluster_") != std::string::npos);
  CHECK(dot.find("label=\"enc\\\"oder\\\\x.layers.0.ff\"") != std::string::npos);
  CHECK(dot.find("style=dashed") != std::string::npos);
  CHECK(dot.find("f32(4, 8)") != std::string::npos);
  const std::string plain = to_dot(t.g, {.clusters = false, .leaves = false});
  CHECK(plain.find("cluster") == std::string::npos);
  CHECK(plain.find("parameter") == std::string::npos);

  // ATTOGRAD_DOT is set by meson when Graphviz is installed; without it the
  // rendering part is skipped.
  const char* dot_program = std::getenv("ATTOGRAD_DOT");
  if (dot_program == nullptr || *dot_program == '\0') {
    MESSAGE("Graphviz 'dot' not found: rendering skipped");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path();
  const std::string good = (dir / "attograd_test_profiled.dot").string();
  const std::string bad = (dir / "attograd_test_broken.dot").string();
  const std::string svg = (dir / "attograd_test_profiled.svg").string();
  write_dot(t.g, good, {.profile = &p, .backward_edges = true});
  std::ofstream(bad) << "digraph { a -> ; }\n";
  auto render = [&](const std::string& in) {
    return std::system(fmt::format("'{}' -Tsvg '{}' -o '{}' 2>/dev/null", dot_program, in, svg).c_str());
  };
  CHECK(render(bad) != 0);  // the check below can fail
  CHECK(render(good) == 0);
  CHECK(std::filesystem::file_size(svg) > 1000);
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
  std::filesystem::remove(svg);
}

TEST_CASE("a pass that throws still closes its step, and the next one is recorded") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2}});
  Expr y = sum(exp(x));
  Executor ex(Backend::tbb, 2);
  Profiler prof;
  RunOptions o;
  o.observer = &prof;
  CHECK_THROWS_AS(ex.forward(g, {}, {y.id}, o), NodeError);  // x is not fed
  ex.forward(g, {{x.id, Tensor::zeros(DType::f32, {2})}}, {y.id}, o);
  const Profile p = prof.profile();
  REQUIRE(p.steps.size() == 2);
  CHECK(p.steps[0].forward_ns > 0);
  auto [b, e] = p.step_nodes(1);
  CHECK(e - b == 3);
}

TEST_CASE("a profiler shared by two executors keeps every backward with its own graph") {
  Toy train, eval("decoder");
  Executor a(Backend::sequential), b(Backend::tbb, 2);
  Profiler prof;
  RunOptions o;
  o.observer = &prof;
  a.forward(train.g, train.feeds(), {train.loss.id}, o);
  b.forward(eval.g, eval.feeds(), {eval.loss.id}, o);
  a.backward(train.loss.id);
  const Profile p = prof.profile();
  REQUIRE(p.steps.size() == 3);
  CHECK(p.steps[1].graph == &eval.g);
  CHECK(p.steps[2].graph == &train.g);
  CHECK(p.steps[2].backward_from == train.loss.id);
  auto [begin, end] = p.step_nodes(2);
  REQUIRE(begin != end);
  for (const NodeRecord* r = begin; r != end; ++r) CHECK(r->phase == Phase::backward);
  CHECK(parallelism_report(p).critical_path_ns <= parallelism_report(p).wall_ns);
  CHECK(memory_report(p, 2).peak_bytes > 0);
  CHECK(!scope_rollup(p).empty());
}

TEST_CASE("the op table and the trace show which nodes ran their products in bf16") {
  for (Precision precision : {Precision::f32, Precision::bf16}) {
    CAPTURE(precision_name(precision));
    ParameterStore store(3);
    Graph g(&store);  // outlives the profile, which refers to it
    Expr x = input(g, "x", {DType::f32, {6, 8}});
    Expr w = parameter(g, "weight", {4, 8}, Init::uniform(-1, 1));
    Expr b = parameter(g, "bias", {4}, Init::uniform(-1, 1));
    Expr loss = mean(relu(linear(x, w, b)));
    Profiler profiler;
    Executor ex(Backend::tbb, 2);
    RunOptions o;
    o.observer = &profiler;
    o.precision = precision;
    ex.forward(g, {{x.id, Tensor::full(DType::f32, {6, 8}, 0.5)}}, {loss.id}, o);
    ex.backward(loss.id);
    const Profile p = profiler.profile();
    const std::vector<OpStats> rows = op_table(p);
    int linear_rows = 0;
    for (const OpStats& row : rows) {
      INFO(row.op << " " << row.phase);
      if (row.op == "linear") {
        ++linear_rows;
        CHECK(row.precision == precision_name(precision));
      } else {
        CHECK(row.precision == "f32");  // relu, mean, the leaves: never bf16
      }
    }
    CHECK(linear_rows == 2);  // forward and backward
    const std::string text = format_op_table(rows);
    CHECK(text.find("precision") != std::string::npos);
    CHECK((text.find("bf16") != std::string::npos) == (precision == Precision::bf16));
    std::ostringstream trace;
    write_chrome_trace(p, trace);
    CHECK((trace.str().find(R"("precision": "bf16")") != std::string::npos) == (precision == Precision::bf16));
  }
}
