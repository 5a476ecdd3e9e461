// Executor: runs a graph forward and backward.
//
// Every backend uses the same dependency-counting schedule: a node runs as
// soon as all its inputs have values (forward), or as soon as every consumer
// that sends it a gradient has run its backward (reverse). Backends differ
// only in who runs the ready nodes:
//   sequential — the calling thread, one node at a time: the oracle;
//   tbb        — a oneTBB task arena of `threads` workers; kernels'
//                parallel_for runs in the same arena, so cores are never
//                oversubscribed;
//   threads    — a plain std::thread pool, used to run the executor tests
//                under ThreadSanitizer (which misreports Debian's TBB).
//
// Determinism: a node's result depends only on its inputs, and the engine
// sums the gradient contributions a node receives in a fixed order (by
// consumer id, then input slot). Results are therefore bit-identical for
// every backend and thread count.
//
//   Executor ex(Backend::tbb, 2);
//   ex.forward(g, {{x.id, batch}}, {loss.id}, {.training = true, .step = 7});
//   ex.backward(loss.id);      // parameter gradients are added to the store
//   double l = ex.value(loss.id).item();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/context.hpp"
#include "engine/graph.hpp"

namespace attograd {

enum class Backend { sequential, tbb, threads };
enum class Phase : std::uint8_t { forward, backward };
const char* phase_name(Phase p);

// Values for input leaves, by node id.
using Feeds = std::unordered_map<NodeId, Tensor>;

// One node execution, reported to an observer (the profiler) when set.
struct NodeEvent {
  NodeId node;
  Phase phase;
  int worker;               // 0-based thread slot in the executor, < RunInfo::workers
  std::int64_t start_ns;    // std::chrono::steady_clock, nanoseconds since its epoch
  std::int64_t end_ns;
  std::int64_t bytes_out;   // bytes of the value (forward) or gradients (backward) produced
  Precision precision = Precision::f32;  // bf16: its products ran in bf16 (OpContext::products_in)
};

// One forward or backward pass, announced before its first node and after its last.
struct RunInfo {
  const Graph* graph = nullptr;
  Phase phase = Phase::forward;
  int workers = 1;                   // thread slots this pass may use
  std::vector<NodeId> targets;       // forward: the targets; backward: the node it starts from
  bool retain_for_backward = true;   // forward: values a backward reads are kept
};

class ExecutionObserver {
 public:
  virtual ~ExecutionObserver() = default;
  // Called on the caller's thread, never concurrently with on_node; on_run_end
  // is called also when the pass throws.
  virtual void on_run_begin(const RunInfo& /*run*/) {}
  virtual void on_run_end(const RunInfo& /*run*/) {}
  virtual void on_node(const NodeEvent& event) = 0;  // called from worker threads concurrently
};

// A flat aggregate, so designated initializers work:
//   ex.forward(g, feeds, {loss.id}, {.training = true, .seed = 1, .step = 7});
struct RunOptions {
  // What every node reads (RunSettings, engine/context.hpp):
  bool training = false;    // dropout active, etc.
  std::uint64_t seed = 0;   // keys counter-based randomness
  std::uint64_t step = 0;   // training step: dropout masks differ per step
  Precision precision = Precision::f32;  // bf16: products in mixed precision (engine/precision.hpp)
  // How the executor runs the pass:
  ExecutionObserver* observer = nullptr;
  bool check_numerics = false;     // throw NumericsError at the first NaN/Inf
  bool retain_for_backward = true; // false: free every value as soon as possible (inference)
};

class TaskRunner;  // backend strategy (engine/runners.hpp)

class Executor {
 public:
  // threads = 0 means every hardware thread. Ignored by `sequential`.
  explicit Executor(Backend backend = Backend::tbb, int threads = 0);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  Backend backend() const { return backend_; }
  int threads() const { return threads_; }
  void set_threads(int threads);

  // Computes every node in `targets` and whatever they depend on.
  void forward(const Graph& graph, const Feeds& feeds, const std::vector<NodeId>& targets,
               const RunOptions& options = {});

  // Reverse pass from `loss` (must hold exactly one element; seeded with 1),
  // or from any computed node with an explicit seed gradient of its shape.
  // Parameter gradients are added into the ParameterStore; gradients of input
  // leaves created with requires_grad are available from grad().
  void backward(NodeId loss);
  void backward(NodeId output, Tensor seed);

  // A target's value after forward(); throws if it was not computed.
  const Tensor& value(NodeId id) const;
  // Gradient of a requires_grad input leaf after backward().
  const Tensor& grad(NodeId id) const;

  // Bytes of values, saved tensors and gradients held at the peak of the
  // last forward + backward (measured by the engine's own accounting).
  std::int64_t peak_bytes() const { return peak_bytes_; }

  struct State;  // run state, engine/executor_state.hpp

 private:
  Backend backend_;
  int threads_;
  std::unique_ptr<TaskRunner> runner_;
  std::unique_ptr<State> state_;
  std::int64_t peak_bytes_ = 0;
};

// Sums a gradient of broadcast shape down to `shape` (numpy broadcasting in
// reverse). Deterministic: elements are added in row-major order. When
// `shape` is a suffix of the gradient's (a bias), blocks of output columns
// run on `parallel` if given, each column's rows still added in order: the
// same bits on any thread count.
Tensor sum_to_shape(const Tensor& grad, const Shape& shape, const Parallel* parallel = nullptr);

}  // namespace attograd
