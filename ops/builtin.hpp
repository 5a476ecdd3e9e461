// The built-in ops in a registry, for creating them by name (apply("softmax",
// ...)). Builder functions (add, matmul, ...) never need a registry.
//
// default_registry() holds them without any call: loading this library sets
// the engine's hook (set_builtin_ops in engine/registry.hpp), which fills
// default_registry() on its first use. A linker with --as-needed drops a
// library the program names no symbol of; a program that uses ops only by
// name can call ensure_builtin_ops() to name one.
#pragma once

namespace attograd {
class OpRegistry;
// Registers every built-in op in `registry` (a registry of your own).
void register_builtin_ops(OpRegistry& registry);
// Makes sure default_registry() holds the built-ins (thread-safe, idempotent).
void ensure_builtin_ops();
}  // namespace attograd
