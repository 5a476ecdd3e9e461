// What the benchmark modes of attograd_bench share: the configurations of
// issue 6, timing statistics, resident-memory readings and the list of GEMMs
// a training graph runs.
//
//   const BenchConfig& c = find_config("small");   // 2 layers, D 256, B 32, ...
//   Stats s = stats({0.31, 0.29, 0.30});            // median 0.30
//   for (const GemmCall& g : training_gemms(graph)) total += g.gemm.flops();
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "models/transformer.hpp"

namespace attograd::bench {

// One benchmark configuration: an encoder-decoder Transformer and its batch.
struct BenchConfig {
  std::string name;
  std::int64_t layers, d_model, heads, d_ff, vocab, src_len, tgt_len, batch;
  bool pre_norm = false;
  double label_smoothing = 0.1;
  double dropout = 0.1;
  bool copy_task = false;  // data from the copy task instead of random tokens
};

// "tiny", "small", "base", "copy"; throws Error listing them otherwise.
const BenchConfig& find_config(const std::string& name);
std::vector<std::string> config_names();
TransformerConfig transformer_config(const BenchConfig& c);

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start);
// CPU time of every thread of this process so far (user + system): on a
// loaded machine it still counts only the work done, not the waiting.
double process_cpu_seconds();

struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats stats(std::vector<double> values);  // values must not be empty

// From /proc/self/status: VmHWM (peak) and VmRSS (now), in MiB.
double peak_rss_mib();
double current_rss_mib();

// One C = op(A) @ op(B) (row-major, cblas_sgemm flags), `count` times over
// distinct matrices (a batched product).
struct Gemm {
  bool trans_a = false, trans_b = false;
  std::int64_t m = 0, n = 0, k = 0, count = 1;
  double flops() const { return 2.0 * double(m) * double(n) * double(k) * double(count); }
  bool operator<(const Gemm& o) const;
  std::string label() const;  // "NT 2048x256x256" or "NN 256x(32x32x32)"
};

// A GEMM a matmul node runs: its forward product, or one of its gradients.
struct GemmCall {
  Gemm gemm;
  Phase phase;
  NodeId node;
};

// Every GEMM one forward + backward of `graph` runs, as ops/matmul.cpp
// issues them (a batch-free right operand folds the left one's batch into
// M), with no gradient for an input that needs none. The row blocks the
// matmul kernel splits M into are not modelled: these are whole products.
std::vector<GemmCall> training_gemms(const Graph& graph);
// Sum of the forward + backward flops every matmul node's Op::cost reports.
double matmul_cost_flops(const Graph& graph);

}  // namespace attograd::bench
