#include "train/optimizer_state.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "train/finite_values.hpp"

namespace attograd {
namespace {

std::int64_t count_negative(const Tensor& t) {
  return visit_floating(t.dtype(), [&]<class T>(T) {
    return static_cast<std::int64_t>(std::count_if(t.span<T>().begin(), t.span<T>().end(), [](T v) { return v < 0; }));
  });
}

}  // namespace

void check_optimizer_state(const ParameterStore& store, const Optimizer& optimizer, std::int64_t step,
                           const std::string& path) {
  auto fail = [&](const std::string& problem) { throw FileError(fmt::format("[checkpoint] '{}': {}", path, problem)); };
  const std::vector<std::string> slots = optimizer.state_slots();
  const auto keeps = [&](const std::string& slot) { return std::find(slots.begin(), slots.end(), slot) != slots.end(); };
  const bool any_state = std::any_of(store.all().begin(), store.all().end(), [](const Parameter& p) { return !p.state.empty(); });
  if (step > 0 && !slots.empty() && !any_state)
    fail(fmt::format("it is at step {} but holds no optimizer state ({} keeps {} per parameter): resuming would restart "
                     "{} from zero, not continue the run",
                     step, optimizer.name(), fmt::join(slots, ", "), optimizer.name()));
  for (const Parameter& p : store.all()) {
    for (const auto& [slot, t] : p.state) {
      const std::string name = fmt::format("optimizer.{}.{}", p.name, slot);
      if (!keeps(slot))
        fail(fmt::format("'{}' is not a slot {} keeps ({})", name, optimizer.name(),
                         slots.empty() ? std::string("it keeps none") : fmt::format("{}", fmt::join(slots, ", "))));
      if (const std::int64_t bad = count_non_finite(t)) fail(describe({name, bad, t.numel()}));
      if (slot == "exp_avg_sq")
        if (const std::int64_t negative = count_negative(t))
          fail(fmt::format("'{}' holds {} negative values: a second moment never is", name, negative));
    }
    if (step > 0 && p.trainable)
      for (const std::string& slot : slots)
        if (!p.state.count(slot)) fail(fmt::format("'optimizer.{}.{}' is missing (the run is at step {})", p.name, slot, step));
  }
}

}  // namespace attograd
