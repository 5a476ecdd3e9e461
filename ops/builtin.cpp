#include "ops/builtin.hpp"

#include <mutex>

#include "engine/registry.hpp"
#include "ops/activations.hpp"
#include "ops/concat.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/dropout.hpp"
#include "ops/embedding.hpp"
#include "ops/layer_norm.hpp"
#include "ops/elementwise.hpp"
#include "ops/mask.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"
#include "ops/softmax.hpp"

namespace attograd {

void register_builtin_ops(OpRegistry& registry) {
  register_elementwise_ops(registry);
  register_reduce_ops(registry);
  register_shape_ops(registry);
  register_matmul_ops(registry);
  register_linear_ops(registry);
  register_softmax_ops(registry);
  register_mask_ops(registry);
  register_concat_ops(registry);
  register_activation_ops(registry);
  register_cross_entropy_ops(registry);
  register_dropout_ops(registry);
  register_embedding_ops(registry);
  register_layer_norm_ops(registry);
}

void ensure_builtin_ops() {
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_ops(default_registry()); });
}

}  // namespace attograd
