#include "dist/gradient_observer.hpp"

#include "engine/leaves.hpp"

namespace attograd {

void GradientObserver::on_run_begin(const RunInfo& run) {
  if (run.phase == Phase::backward && exchange_ != nullptr) {
    exchange_->backward_begins();  // throws on a second pass, before `next` hears of this one
    param_of_node_.assign(run.graph->size(), -1);
    if (run.graph->parameters() == &store_)
      for (std::size_t i = 0; i < layout_.params.size(); ++i)
        if (const NodeId id = parameter_node(*run.graph, layout_.params[i]->name); id >= 0)
          param_of_node_[static_cast<std::size_t>(id)] = static_cast<std::int64_t>(i);
  }
  if (next_ != nullptr) next_->on_run_begin(run);
}

void GradientObserver::on_run_end(const RunInfo& run) {
  if (next_ != nullptr) next_->on_run_end(run);
}

void GradientObserver::on_node(const NodeEvent& event) {
  if (event.phase == Phase::backward && exchange_ != nullptr &&
      static_cast<std::size_t>(event.node) < param_of_node_.size())
    if (const std::int64_t i = param_of_node_[static_cast<std::size_t>(event.node)]; i >= 0)
      exchange_->parameter_final(static_cast<std::size_t>(i));
  if (next_ != nullptr) next_->on_node(event);
}

}  // namespace attograd
