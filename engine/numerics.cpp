#include "engine/numerics.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  if (!t.defined()) return s;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  for (double v : t.to_vector()) {
    if (std::isnan(v)) {
      ++s.nan;
    } else if (std::isinf(v)) {
      ++s.inf;
    } else {
      ++s.finite;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
  }
  if (s.finite > 0) {
    s.min = lo;
    s.max = hi;
    s.mean = sum / static_cast<double>(s.finite);
  }
  return s;
}

std::string describe_stats(const Tensor& t) {
  if (!t.defined()) return "not kept";
  const TensorStats s = tensor_stats(t);
  const std::string type = to_string(TensorType{t.dtype(), t.shape()});
  const std::string counts = fmt::format("{} NaN, {} Inf", s.nan, s.inf);
  if (s.finite == 0) return fmt::format("{} no finite element, {}", type, counts);
  return fmt::format("{} finite min {:.6g} max {:.6g} mean {:.6g}, {}", type, s.min, s.max, s.mean, counts);
}

void throw_numerics_error(const Graph& g, NodeId n, Phase phase, const Tensor& produced, const std::string& what,
                          const NumericsInputs& read) {
  const Node& node = g.node(n);
  std::string message = fmt::format("[numerics] {} of node {} '{}' (op {}) has NaN or Inf in its {} {}",
                                    phase_name(phase), n, node.label, node.op->name(), what, describe_stats(produced));
  for (std::size_t i = 0; i < read.inputs.size(); ++i) {
    const Node& in = g.node(node.inputs[i]);
    const std::string what_in = in.op->describe();  // an input's or parameter's name
    message += fmt::format("\n  input {}, node {} '{}'{}: {}", i, node.inputs[i], in.label,
                           what_in.empty() ? "" : " (" + what_in + ")", describe_stats(*read.inputs[i]));
  }
  if (read.grad_output != nullptr) message += "\n  incoming gradient: " + describe_stats(*read.grad_output);
  throw NumericsError(message, n, node.op->name(), node.label, phase_name(phase));
}

}  // namespace attograd
