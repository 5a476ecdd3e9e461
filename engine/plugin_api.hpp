// What a run-time op plugin includes. A plugin is a shared module (meson
// `shared_module`) linked against libattograd_engine; it defines its ops as
// ordinary Op subclasses and hands them to the host in one function:
//
//   #include "engine/op_samples.hpp"
//   #include "engine/plugin_api.hpp"
//
//   ATTOGRAD_PLUGIN(registrar) {
//     using namespace attograd::samples;
//     attograd::OpSchema op;
//     op.name = "swiglu";
//     op.summary = "x (..., 2F) -> silu(a) * b (..., F)";
//     op.factory = [](const attograd::Attributes&) -> attograd::OpPtr { return std::make_shared<SwigluOp>(); };
//     op.samples = {sample({uniform({3, 4})}), sample({uniform({2, 3, 6})})};  // gradchecked
//     op.shape_errors = {shape_error({f64({2, 3})})};  // optional: infer() must refuse it
//     registrar.add(std::move(op));
//   }
//
// The macro defines the two extern "C" entry points the loader looks up:
//   attograd_plugin_abi()       -> the AbiStamp the plugin was compiled with;
//   attograd_plugin_register(r) -> adds the plugin's ops to r.
// The loader (engine/plugin.hpp) reads the stamp first — plain C data, safe
// whatever the plugin was built with — and calls the registration only if it
// matches the host's stamp field for field. Each op is then gradchecked on its
// samples and must refuse its shape-error cases; the ops are added to the
// registry only if all of them pass.
// Give ops classes internal linkage (an anonymous namespace).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/registry.hpp"

// Bump when any type a plugin touches (Op, OpContext, Tensor, OpSchema, ...)
// changes in a way that breaks binary compatibility.
#define ATTOGRAD_ABI_VERSION 3

namespace attograd {

// Everything that must match between host and plugin. A C struct of plain
// integers; `version` comes first and never moves, so a host can read it from a
// plugin of any version before trusting the rest of the layout.
struct AbiStamp {
  std::uint32_t version;
  std::uint32_t compiler;          // 1 gcc, 2 clang, 0 other
  std::uint32_t compiler_major;
  std::uint32_t cxx11_string_abi;  // libstdc++'s _GLIBCXX_USE_CXX11_ABI
  std::uint32_t debug_containers;  // _GLIBCXX_DEBUG changes container layouts
  std::uint32_t sizeof_string;
  std::uint32_t sizeof_function;
  std::uint32_t sizeof_shared_ptr;
  std::uint32_t sizeof_tensor;
  std::uint32_t sizeof_attributes;
  std::uint32_t sizeof_op_schema;
  std::uint32_t sizeof_gradcheck_input;
};

// The stamp of the translation unit that evaluates it. Only ever used in a
// constant expression: a plugin calling an inline function could be bound
// at run time to the host's copy of it and report the host's values.
constexpr AbiStamp abi_stamp_here() {
#if defined(__clang__)
  constexpr std::uint32_t compiler = 2, major = __clang_major__;
#elif defined(__GNUC__)
  constexpr std::uint32_t compiler = 1, major = __GNUC__;
#else
  constexpr std::uint32_t compiler = 0, major = 0;
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
  constexpr std::uint32_t cxx11_abi = _GLIBCXX_USE_CXX11_ABI;
#else
  constexpr std::uint32_t cxx11_abi = 0;
#endif
#if defined(_GLIBCXX_DEBUG)
  constexpr std::uint32_t debug = 1;
#else
  constexpr std::uint32_t debug = 0;
#endif
  auto size = [](std::size_t n) { return static_cast<std::uint32_t>(n); };
  return {ATTOGRAD_ABI_VERSION, compiler, major, cxx11_abi, debug,
          size(sizeof(std::string)), size(sizeof(std::function<void()>)), size(sizeof(std::shared_ptr<int>)),
          size(sizeof(Tensor)), size(sizeof(Attributes)), size(sizeof(OpSchema)), size(sizeof(GradcheckInput))};
}

// Collects a plugin's ops during registration; owned by the host.
class PluginRegistrar {
 public:
  // Queues `schema`; the loader checks, gradchecks and registers it later.
  void add(OpSchema schema);
  std::vector<OpSchema>& ops() { return ops_; }

 private:
  std::vector<OpSchema> ops_;
};

}  // namespace attograd

#define ATTOGRAD_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// Defines both entry points; the braces that follow are the body of the
// registration function, with `registrar` naming the PluginRegistrar.
#define ATTOGRAD_PLUGIN(registrar)                                             \
  ATTOGRAD_PLUGIN_EXPORT const attograd::AbiStamp* attograd_plugin_abi() {     \
    static constexpr attograd::AbiStamp stamp = attograd::abi_stamp_here();    \
    return &stamp;                                                             \
  }                                                                            \
  ATTOGRAD_PLUGIN_EXPORT void attograd_plugin_register(attograd::PluginRegistrar& registrar)
