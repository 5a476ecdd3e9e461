// Registers every built-in op in `registry` (call once, explicitly; nothing
// registers itself). Builder functions (add, matmul, ...) work without it:
// the registry is for creating ops by name.
#pragma once

namespace attograd {
class OpRegistry;
void register_builtin_ops(OpRegistry& registry);
// Registers the built-ins in default_registry() once (thread-safe, idempotent).
void ensure_builtin_ops();
}  // namespace attograd
