#include "bench/bench_common.hpp"

#include <time.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd::bench {
namespace {

// Issue 6's table. copy is the copy task of app/tasks/copy.cpp with its
// defaults: sequences of 10 tokens, teacher forcing over the 9 after bos,
// pre-norm and no label smoothing.
const std::vector<BenchConfig>& configs() {
  static const std::vector<BenchConfig> all = {
      {"tiny", 2, 128, 4, 512, 1000, 32, 32, 32},
      {"small", 2, 256, 8, 1024, 8000, 64, 64, 32},
      {"base", 6, 512, 8, 2048, 8000, 64, 64, 16},
      {"copy", 2, 512, 8, 2048, 11, 10, 9, 30, true, 0.0, 0.1, true},
  };
  return all;
}

// A line "Key:   1234 kB" of /proc/self/status, in MiB (0 if absent).
double status_mib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    double kib = 0;
    fields >> kib;
    return kib / 1024.0;
  }
  return 0;
}

// Which nodes a gradient reaches: trainable parameters, leaves created with
// requires_grad, and whatever depends on them through a differentiable input.
std::vector<bool> needs_gradient(const Graph& g) {
  std::vector<bool> needs(g.size(), false);
  for (std::size_t id = 0; id < g.size(); ++id) {
    const Node& n = g.nodes()[id];
    bool v = n.requires_grad || n.op->name() == "parameter";
    for (std::size_t i = 0; i < n.inputs.size(); ++i)
      v = v || (n.op->differentiable(i) && needs[static_cast<std::size_t>(n.inputs[i])]);
    needs[id] = v;
  }
  return needs;
}

// ops/matmul.cpp's forward GEMM for stored shapes a, b and its flags.
Gemm forward_gemm(const Shape& a, const Shape& b, bool ta, bool tb) {
  const std::size_t ra = a.size(), rb = b.size();
  Gemm f{ta, tb, ta ? a[ra - 1] : a[ra - 2], tb ? b[rb - 2] : b[rb - 1], ta ? a[ra - 2] : a[ra - 1], 1};
  Shape batch;
  broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), batch);
  const bool folds = !ta && numel(Shape(b.begin(), b.end() - 2)) == 1;
  if (folds) f.m *= numel(batch);
  else f.count = numel(batch);
  return f;
}

bool is_gemm_op(const Node& n) { return n.op->name() == "matmul" || n.op->name() == "linear"; }

}  // namespace

const BenchConfig& find_config(const std::string& name) {
  for (const BenchConfig& c : configs())
    if (c.name == name) return c;
  throw Error(fmt::format("[bench] unknown configuration '{}'; known: {}", name, fmt::join(config_names(), ", ")));
}

std::vector<std::string> config_names() {
  std::vector<std::string> names;
  for (const BenchConfig& c : configs()) names.push_back(c.name);
  return names;
}

TransformerConfig transformer_config(const BenchConfig& c) {
  TransformerConfig t;
  t.src_vocab = t.tgt_vocab = c.vocab;
  t.layers = c.layers;
  t.d_model = c.d_model;
  t.heads = c.heads;
  t.d_ff = c.d_ff;
  t.dropout = c.dropout;
  t.norm = c.pre_norm ? NormPlacement::pre : NormPlacement::post;
  return t;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return {median, v.front(), v.back()};
}

double peak_rss_mib() { return status_mib("VmHWM"); }
double current_rss_mib() { return status_mib("VmRSS"); }

bool Gemm::operator<(const Gemm& o) const {
  return std::tie(trans_a, trans_b, m, n, k, count) < std::tie(o.trans_a, o.trans_b, o.m, o.n, o.k, o.count);
}

std::string Gemm::label() const {
  const std::string flags = fmt::format("{}{}", trans_a ? 'T' : 'N', trans_b ? 'T' : 'N');
  if (count == 1) return fmt::format("{} {}x{}x{}", flags, m, n, k);
  return fmt::format("{} {}x({}x{}x{})", flags, count, m, n, k);
}

// With op(A) (M, K), op(B) (K, N) and g = dL/dC (M, N), ops/matmul.cpp runs
//   dA = g @ op(B)^T          (ta: dA = op(B) @ g^T)
//   dB = op(A)^T @ g          (tb: dB = g^T @ op(A))
// each as one GEMM with transpose flags and no copy.
std::vector<GemmCall> training_gemms(const Graph& g) {
  const std::vector<bool> needs = needs_gradient(g);
  std::vector<GemmCall> calls;
  for (std::size_t id = 0; id < g.size(); ++id) {
    const Node& n = g.nodes()[id];
    if (!is_gemm_op(n)) continue;
    // linear(x, w, b) runs the GEMMs of matmul(x, w, transpose_b).
    const std::string flags = n.op->name() == "linear" ? "transpose_b" : n.op->describe();
    const bool ta = flags.find("transpose_a") != std::string::npos;
    const bool tb = flags.find("transpose_b") != std::string::npos;
    const Gemm f = forward_gemm(g.node(n.inputs[0]).type.shape, g.node(n.inputs[1]).type.shape, ta, tb);
    const auto node = static_cast<NodeId>(id);
    calls.push_back({f, Phase::forward, node});
    if (!needs[id]) continue;
    if (needs[static_cast<std::size_t>(n.inputs[0])])
      calls.push_back({ta ? Gemm{tb, true, f.k, f.m, f.n, f.count} : Gemm{false, !tb, f.m, f.k, f.n, f.count},
                       Phase::backward, node});
    if (needs[static_cast<std::size_t>(n.inputs[1])])
      calls.push_back({tb ? Gemm{true, ta, f.n, f.k, f.m, f.count} : Gemm{!ta, false, f.k, f.n, f.m, f.count},
                       Phase::backward, node});
  }
  return calls;
}

double matmul_cost_flops(const Graph& g) {
  double total = 0;
  for (const Node& n : g.nodes()) {
    if (!is_gemm_op(n)) continue;
    std::vector<TensorType> in;
    for (NodeId i : n.inputs) in.push_back(g.node(i).type);
    const Cost c = n.op->cost(in, n.type);
    total += c.forward_flops + c.backward_flops;
  }
  return total;
}

}  // namespace attograd::bench
