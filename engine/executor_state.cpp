#include "engine/executor_state.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {

OpContext::Wiring Executor::State::context_for(NodeId id, const Parallel& parallel) {
  OpContext::Wiring w;
  w.graph = graph;
  w.node = id;
  for (NodeId in : graph->node(id).inputs) w.inputs.push_back(&values[in]);
  w.saved = &saved[id];
  w.parameters = graph->parameters();
  w.parallel = &parallel;
  w.settings = &settings;
  return w;
}

}  // namespace attograd

namespace attograd::executor_detail {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string describe_node(const Executor::State* s, NodeId id) {
  if (s == nullptr || s->graph == nullptr || id < 0 || static_cast<std::size_t>(id) >= s->graph->size())
    return std::to_string(id);
  const Node& node = s->graph->node(id);
  const std::string what = node.op->describe();
  return fmt::format("{} '{}' ({}{})", id, node.label, node.op->name(), what.empty() ? "" : " '" + what + "'");
}

[[noreturn]] void rethrow_for_node(const Graph& g, NodeId n, Phase phase) {
  const Node& node = g.node(n);
  const std::string op = node.op->name();
  try {
    throw;
  } catch (const NodeError&) {
    throw;
  } catch (const std::exception& e) {
    throw NodeError(fmt::format("{} (in {} of node {} '{}', op {})", e.what(), phase_name(phase), n, node.label, op),
                    n, op, node.label, phase_name(phase));
  }
}

std::unique_ptr<std::atomic<int>[]> counters(std::size_t n) {
  auto c = std::make_unique<std::atomic<int>[]>(n);
  for (std::size_t i = 0; i < n; ++i) c[i].store(0, std::memory_order_relaxed);
  return c;
}

NumericsInputs read_by(const Executor::State& s, const Node& node, const Tensor* grad_output) {
  NumericsInputs read{{}, grad_output};
  for (NodeId in : node.inputs) read.inputs.push_back(&s.values[in]);
  return read;
}

Tensor sum_gradient_parts(std::vector<Tensor>& parts, const Parallel& parallel) {
  std::vector<Tensor*> present;
  for (Tensor& part : parts)
    if (part.defined()) present.push_back(&part);
  if (present.empty()) return {};
  if (present.size() == 1) return std::exchange(*present.front(), Tensor());
  const Tensor& first = *present.front();
  Tensor sum = Tensor::empty(first.dtype(), first.shape());
  constexpr std::int64_t kGrain = 1 << 15;  // elements per block
  visit_floating(sum.dtype(), [&]<class T>(T) {
    T* out = sum.data<T>();
    parallel.parallel_for(sum.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) {
      // In chunks that stay in L1 while every part is added to them; each
      // element is still ((part 0 + part 1) + part 2) + ...
      constexpr std::int64_t kChunk = 2048;
      for (std::int64_t c0 = lo; c0 < hi; c0 += kChunk) {
        const std::int64_t c1 = std::min(hi, c0 + kChunk);
        std::copy(first.data<T>() + c0, first.data<T>() + c1, out + c0);
        for (std::size_t p = 1; p < present.size(); ++p) {
          const T* part = present[p]->data<T>();
          for (std::int64_t k = c0; k < c1; ++k) out[k] += part[k];
        }
      }
    });
  });
  for (Tensor& part : parts) part = Tensor();
  return sum;
}

}  // namespace attograd::executor_detail
