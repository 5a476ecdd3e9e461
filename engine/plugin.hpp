// The run-time plugin loader: opens a shared module built against
// engine/plugin_api.hpp and adds its ops to a registry.
//
//   PluginInfo p = load_plugin("build/examples/plugins/swiglu/libswiglu.so");
//   Expr y = apply("swiglu", {h});     // p.ops == {"swiglu"}
//
// All or nothing: the ops are registered (with origin = the path) only if
// every check passes, in this order:
//   1. the file exists and dlopen(RTLD_NOW | RTLD_LOCAL) accepts it (a text
//      file, a missing dependency or an unresolved symbol is refused here; an
//      unresolved C++ symbol is demangled and explained: a standard-library
//      flag that differs, such as _GLIBCXX_DEBUG, or a function this
//      attograd lacks);
//   2. it exports attograd_plugin_abi and attograd_plugin_register;
//   3. its AbiStamp equals the host's (ABI version first, then compiler,
//      standard library mode and the sizes of the shared types) — checked
//      before any C++ object crosses the boundary;
//   4. registration returns without throwing;
//   5. every op has a name, a factory and at least one sample, and its name is
//      neither taken in the registry nor repeated within the plugin;
//   6. every op passes gradcheck (f64, engine/gradcheck.hpp) on each sample,
//      and its samples compare at least one gradient element (a gradcheck of
//      no differentiable element would pass any backward);
//   7. infer() refuses each shape-error case the op declares (optional) with
//      a ShapeError that starts "[name]".
// Otherwise load_plugin throws PluginError("[plugin] <path>: <what>"), the
// library is closed again and the registry is unchanged. A loaded plugin
// stays loaded for the life of the process (its ops may be in use anywhere).
#pragma once

#include <string>
#include <vector>

#include "engine/registry.hpp"

namespace attograd {

struct PluginInfo {
  std::string path;
  std::vector<std::string> ops;  // names registered, in registration order
};

PluginInfo load_plugin(const std::string& path, OpRegistry& registry = default_registry());

}  // namespace attograd
