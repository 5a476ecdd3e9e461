// Reports over a Profile, each as plain data and as a text table:
//
//   op_table           per op, phase and precision: calls, time, share, FLOPs, GFLOP/s, bytes
//   scope_rollup       time per scope prefix of the node labels
//   memory_report      bytes per node, the peak of a step and what is alive then
//   parallelism_report critical path vs wall time, concurrency, idle workers
//
//   Profile p = profiler.profile();
//   fmt::print("{}", format_op_table(op_table(p)));
//   for (const ScopeStats& s : scope_rollup(p)) ...   // "encoder.layers.0" ...
//
// Times are nanoseconds; FLOPs and bytes moved come from Op::cost.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "profile/profiler.hpp"

namespace attograd {

// --- per op -------------------------------------------------------------------

// One row per (op name, phase, precision), plus one per span name (phase
// "span"): a product op run in bf16 has rows of its own.
struct OpStats {
  std::string op;
  std::string phase;          // "forward", "backward" or "span"
  std::string precision;      // "f32", "bf16" (products run in bf16), "" for spans
  std::int64_t calls = 0;
  std::int64_t total_ns = 0;
  std::int64_t max_ns = 0;
  double share = 0;           // total_ns / wall time of every recorded step
  double flops = 0;           // Op::cost summed over the calls
  double bytes_moved = 0;     // Op::cost bytes read + written, summed
  std::int64_t bytes_out = 0; // bytes the calls produced (measured)

  double mean_ns() const { return calls ? static_cast<double>(total_ns) / static_cast<double>(calls) : 0; }
  double gflops_per_s() const { return total_ns ? flops / static_cast<double>(total_ns) : 0; }
};

std::vector<OpStats> op_table(const Profile& p);  // largest total time first
std::string format_op_table(const std::vector<OpStats>& rows, std::size_t max_rows = 40);

// --- per scope ------------------------------------------------------------------

// Time of every node whose label lies under `scope`. A label
// "encoder.layers.0.self_attn.softmax" counts for "encoder", "encoder.layers",
// "encoder.layers.0" and "encoder.layers.0.self_attn"; every node counts for
// the root scope "".
struct ScopeStats {
  std::string scope;
  int depth = 0;              // components: "" 0, "encoder" 1, "encoder.layers" 2
  std::int64_t calls = 0;     // node executions
  std::int64_t forward_ns = 0;
  std::int64_t backward_ns = 0;
  double flops = 0;
  double share = 0;           // of the root's time

  std::int64_t total_ns() const { return forward_ns + backward_ns; }
};

enum class ScopeOrder { by_time, by_name };
// max_depth > 0 drops deeper scopes.
std::vector<ScopeStats> scope_rollup(const Profile& p, ScopeOrder order = ScopeOrder::by_time, int max_depth = 0);
std::string format_scope_rollup(const std::vector<ScopeStats>& rows, std::size_t max_rows = 40);

// --- memory ---------------------------------------------------------------------

struct LiveTensor {
  NodeId node = -1;
  std::string label;
  bool gradient = false;      // the gradient reaching the node, else its value
  std::int64_t bytes = 0;
};

struct NodeMemory {
  NodeId node = -1;
  std::string label;
  std::string op;
  bool leaf = false;                // parameter, input or constant: its value is resident, not allocated
  std::int64_t forward_bytes = 0;   // its value
  std::int64_t backward_bytes = 0;  // the gradients it sends to its inputs

  std::int64_t allocated_bytes() const { return (leaf ? 0 : forward_bytes) + backward_bytes; }
};

struct MemoryReport {
  int step = -1;                    // index into Profile::steps
  std::int64_t resident_bytes = 0;  // leaf values: parameters, inputs, constants (not allocated by the step)
  std::int64_t peak_bytes = 0;      // simulated peak of values and gradients, above resident
  NodeId peak_node = -1;            // the node whose allocation reached the peak
  Phase peak_phase = Phase::forward;
  std::vector<LiveTensor> alive_at_peak;  // largest first
  std::int64_t measured_peak_bytes = 0;   // process-wide, sampled at node ends, above the step's start
  std::vector<NodeMemory> per_node;       // nodes that ran, in id order
};

// step = -1: the last recorded step. Throws Error if there is no such step.
MemoryReport memory_report(const Profile& p, int step = -1);
// The peak and what is alive at it, then the nodes that allocated the most
// (value + gradients sent, largest first); up to max_rows rows each.
std::string format_memory_report(const MemoryReport& r, std::size_t max_rows = 20);

// --- parallelism ----------------------------------------------------------------

struct PathNode {
  NodeId node = -1;
  Phase phase = Phase::forward;
  std::int64_t duration_ns = 0;
};

struct WorkerUsage {
  int worker = 0;
  std::int64_t nodes = 0;
  std::int64_t busy_ns = 0;         // inside node executions (nested ones counted once)
  std::int64_t idle_ns = 0;         // pass wall time minus busy
};

struct ParallelismReport {
  int steps = 0;
  std::int64_t wall_ns = 0;           // forward + backward pass wall times, summed over steps
  std::int64_t work_ns = 0;           // node durations, summed
  std::int64_t critical_path_ns = 0;  // longest dependency chain of measured durations, summed over steps
  double average_concurrency = 0;     // busy workers on average: sum of busy / wall
  std::vector<WorkerUsage> workers;
  const Graph* graph = nullptr;       // of the last step, which critical_path refers to
  std::vector<PathNode> critical_path;  // of the last step, first node first

  double max_speedup() const {        // work / critical path: the bound for any number of workers
    return critical_path_ns ? static_cast<double>(work_ns) / static_cast<double>(critical_path_ns) : 0;
  }
};

ParallelismReport parallelism_report(const Profile& p);
std::string format_parallelism_report(const ParallelismReport& r, std::size_t max_path_rows = 20);

}  // namespace attograd
