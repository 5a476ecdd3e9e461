#include "ops/builtin.hpp"

#include <mutex>

#include "engine/registry.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"

namespace attograd {

void register_builtin_ops(OpRegistry& registry) {
  register_elementwise_ops(registry);
  register_reduce_ops(registry);
  register_shape_ops(registry);
}

void ensure_builtin_ops() {
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_ops(default_registry()); });
}

}  // namespace attograd
