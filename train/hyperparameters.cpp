#include "train/hyperparameters.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {

Hyperparameters resolve_hyperparameters(std::string_view who, const Hyperparameters& given,
                                        const Hyperparameters& defaults,
                                        std::initializer_list<std::string_view> required) {
  auto is_required = [&](std::string_view name) {
    return std::find(required.begin(), required.end(), name) != required.end();
  };
  for (const auto& [name, value] : given) {
    if (defaults.count(name) || is_required(name)) continue;
    std::vector<std::string> known;
    for (const auto& d : defaults) known.push_back(d.first);
    known.insert(known.end(), required.begin(), required.end());
    std::sort(known.begin(), known.end());
    throw Error(fmt::format("[{}] unknown parameter '{}' (known: {})", who, name, fmt::join(known, ", ")));
  }
  for (std::string_view name : required)
    if (!given.count(name)) throw Error(fmt::format("[{}] missing parameter '{}'", who, name));
  Hyperparameters out = defaults;
  for (const auto& [name, value] : given) out[name] = value;
  return out;
}

std::string to_string(const Hyperparameters& hp) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : hp) parts.push_back(fmt::format("{}={}", name, value));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace attograd
