#include "ops/builtin.hpp"

#include "engine/registry.hpp"
#include "ops/activations.hpp"
#include "ops/concat.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/dropout.hpp"
#include "ops/dropout_add.hpp"
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
  register_dropout_add_ops(registry);
  register_embedding_ops(registry);
  register_layer_norm_ops(registry);
}

void ensure_builtin_ops() {
  set_builtin_ops(&register_builtin_ops);
  (void)default_registry();  // fills it, once
}

namespace {

// Runs when the library is loaded: every program that links the ops library
// finds the built-ins in default_registry(), with no call. Function-local
// statics make the order against other libraries' initializers irrelevant:
// default_registry() adds the built-ins when first used, not here.
[[maybe_unused]] const bool builtin_ops_hooked = (set_builtin_ops(&register_builtin_ops), true);

}  // namespace

}  // namespace attograd
