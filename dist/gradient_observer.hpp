// Tells a BucketExchange when each parameter's gradient of the current
// micro-batch is final: once its parameter node (engine/leaves.hpp,
// parameter_node) has run its backward, which adds the graph's whole
// gradient into the store. The executor reports that node from the worker
// thread that ran it (ExecutionObserver::on_node); a parameter the graph
// does not use, or whose node backward does not reach, is final when the
// round closes. Every event also goes on to `next` (a profiler), so the
// observer slot of RunOptions stays one.
#pragma once

#include <cstdint>
#include <vector>

#include "dist/bucket_exchange.hpp"
#include "dist/flat_layout.hpp"
#include "engine/executor.hpp"

namespace attograd {

class GradientObserver final : public ExecutionObserver {
 public:
  // `layout` is the exchange's: its parameters are looked up by name in the
  // graphs of `store`.
  GradientObserver(const FlatLayout& layout, const ParameterStore& store) : layout_(layout), store_(store) {}

  // Where the finals go (nullptr: nowhere), and where every event goes next.
  void set_exchange(BucketExchange* exchange) { exchange_ = exchange; }
  void set_next(ExecutionObserver* next) { next_ = next; }

  void on_run_begin(const RunInfo& run) override;
  void on_run_end(const RunInfo& run) override;
  void on_node(const NodeEvent& event) override;

 private:
  const FlatLayout& layout_;
  const ParameterStore& store_;
  BucketExchange* exchange_ = nullptr;
  ExecutionObserver* next_ = nullptr;
  std::vector<std::int64_t> param_of_node_;  // this backward's graph: node -> index in layout_.params, or -1
};

}  // namespace attograd
