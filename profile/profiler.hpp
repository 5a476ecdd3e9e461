// Profiler: records every node execution of the runs it observes — which
// node, which phase, on which worker thread, when, for how long, how many
// bytes it produced — plus named spans outside the graph ("optimizer.step").
//
//   Profiler prof;
//   RunOptions o;  o.observer = &prof;  o.training = true;
//   for (int step = 0; step < 10; ++step) {
//     ex.forward(g, feeds, {loss.id}, o);    // a forward opens a new step
//     ex.backward(loss.id);                   // the backward joins it
//     auto span = prof.span("optimizer.step"); optimizer.step(store);
//   }
//   Profile p = prof.profile();               // then: reports, trace, DOT
//   std::cout << format_op_table(op_table(p));  // (profile/profile_report.hpp)
//
// Recording is cheap: each worker appends to its own preallocated buffer, so
// no lock is taken per event. With no observer set, the executor never reads
// a clock. The graphs a Profile refers to must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/executor.hpp"

namespace attograd {

struct ProfilerOptions {
  int record_every = 1;                 // record one step in k (k = 1: every step)
  std::size_t max_events = 1u << 20;    // a step that would go past this many node events is not recorded
};

// One forward (and the backward that follows it) of one graph.
struct StepRecord {
  const Graph* graph = nullptr;
  int index = 0;                        // counts every step seen, recorded or not
  int workers = 1;                      // thread slots of the executor
  std::vector<NodeId> targets;          // of the forward
  bool retain_for_backward = true;
  NodeId backward_from = -1;            // -1: no backward was run
  std::int64_t begin_ns = 0;            // forward begins (ns since the profiler's epoch)
  std::int64_t end_ns = 0;              // the last pass or span of the step ends
  std::int64_t forward_ns = 0;          // wall time of the forward pass(es)
  std::int64_t backward_ns = 0;         // wall time of the backward pass(es)
  std::int64_t base_live_bytes = 0;     // tensor bytes live when the forward began

  std::int64_t wall_ns() const { return end_ns - begin_ns; }
  std::int64_t pass_ns() const { return forward_ns + backward_ns; }  // time inside the executor
};

// One node execution.
struct NodeRecord {
  NodeId node = -1;
  Phase phase = Phase::forward;
  std::int32_t worker = 0;
  std::int32_t step = 0;                // index into Profile::steps
  std::int64_t start_ns = 0;            // since the profiler's epoch
  std::int64_t end_ns = 0;
  std::int64_t bytes_out = 0;           // value (forward) or gradients (backward) produced
  std::int64_t live_bytes = 0;          // tensor bytes live in the process when it ended
  Precision precision = Precision::f32; // bf16: its products ran in bf16 (RunSettings::precision)

  std::int64_t duration_ns() const { return end_ns - start_ns; }
};

// A named interval outside the graph, recorded on the caller's thread.
struct SpanRecord {
  std::string name;
  std::int32_t step = -1;               // the step it belongs to; -1 before the first
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
};

// What a Profiler recorded: plain data, sorted by time.
struct Profile {
  std::vector<StepRecord> steps;        // recorded steps only
  std::vector<NodeRecord> nodes;        // by step, then start time
  std::vector<SpanRecord> spans;        // by start time
  int lanes = 1;                        // worker slots used: NodeRecord::worker < lanes

  // The records of one step, in start order (a view into `nodes`).
  std::pair<const NodeRecord*, const NodeRecord*> step_nodes(int step) const;
};

class Profiler final : public ExecutionObserver {
 public:
  explicit Profiler(ProfilerOptions options = {});
  ~Profiler() override;
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  void on_run_begin(const RunInfo& run) override;
  void on_run_end(const RunInfo& run) override;
  void on_node(const NodeEvent& event) override;

  // Records [construction, destruction) of the returned guard as a span.
  class Span {
   public:
    Span(Span&& other) noexcept;
    Span(const Span&) = delete;
    ~Span();
   private:
    friend class Profiler;
    Span(Profiler* p, std::string name);
    Profiler* profiler_;
    std::string name_;
    std::int64_t start_;
  };
  [[nodiscard]] Span span(std::string name);
  // A span from explicit steady_clock times (ns since the clock's epoch).
  void record_span(std::string name, std::int64_t start_steady_ns, std::int64_t end_steady_ns);

  // A copy of everything recorded so far. Call it between runs.
  Profile profile() const;
  void clear();
  std::size_t event_count() const;

 private:
  struct Lane;
  Lane& lane(int worker);

  ProfilerOptions options_;
  std::int64_t epoch_ns_;
  std::vector<std::unique_ptr<Lane>> lanes_;   // one per worker slot; only that worker appends
  std::vector<StepRecord> steps_;
  std::vector<SpanRecord> spans_;
  mutable std::mutex mutex_;                   // spans and the overflow lane
  std::unique_ptr<Lane> overflow_;             // events from an unexpected worker slot
  int seen_steps_ = 0;
  bool recording_ = false;                     // the current step is being recorded
  bool step_open_ = false;                     // a forward has opened a step ...
  const Graph* open_graph_ = nullptr;          // ... of this graph
  std::size_t recorded_ = 0;
  std::int64_t run_begin_ = 0;
};

}  // namespace attograd
