// The loader trusts nothing from a plugin until it has to: it reads the C
// stamp before calling any C++ code, gathers the ops in a host-owned
// registrar, and runs every check before the registry sees a single op.
//
// Why RTLD_NOW: with RTLD_LAZY an unresolved symbol is found only when first
// called, and then the process dies; RTLD_NOW makes dlopen fail cleanly.
// Its error names one undefined symbol, mangled. A plugin built with other
// standard-library flags fails here, before its stamp can be read: its
// signatures name std::__debug:: containers (_GLIBCXX_DEBUG) or another
// string ABI. So the loader demangles the symbol and names the flag that
// differs, as the stamp check would. It does not retry with RTLD_LAZY to read
// the stamp: the plugin's static initializers would run first, and one that
// calls an unresolved function kills the process.
// Why RTLD_LOCAL: two plugins may both define a class or helper of the same
// name; local symbols keep them from binding to each other's copies.
// Why close on refusal but never after success: on refusal every object made
// by the plugin's code (schemas, factories, ops, exceptions) has been
// destroyed before the handle is closed; after success its ops may live
// anywhere in the process for as long as it runs.
#include "engine/plugin.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/plugin_api.hpp"
#include "engine/plugin_stamp.hpp"

namespace attograd {

void PluginRegistrar::add(OpSchema schema) { ops_.push_back(std::move(schema)); }

namespace {

using AbiFunction = const AbiStamp* (*)();
using RegisterFunction = void (*)(PluginRegistrar&);

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw PluginError(fmt::format("[plugin] {}: {}", path, what));
}

// A dlopen handle that is closed unless kept.
class Library {
 public:
  explicit Library(const std::string& path);
  ~Library() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  template <class F> F entry_point(const char* name) const;
  void keep() { handle_ = nullptr; }

 private:
  std::string path_;
  void* handle_ = nullptr;
};

Library::Library(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) refuse(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) refuse(path, "is a directory, not a shared library");
  // Without a '/', dlopen would search the library path instead of opening this file.
  const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  handle_ = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) refuse(path, explain_load_error(dlerror()));
}

template <class F> F Library::entry_point(const char* name) const {
  void* symbol = dlsym(handle_, name);
  if (symbol == nullptr)
    refuse(path_, fmt::format("missing entry point {}() (a plugin defines it with ATTOGRAD_PLUGIN from "
                              "engine/plugin_api.hpp)",
                              name));
  return reinterpret_cast<F>(symbol);
}

std::vector<OpSchema> collect_ops(RegisterFunction register_ops, const std::string& path) {
  PluginRegistrar registrar;
  try {
    register_ops(registrar);
  } catch (const std::exception& e) {
    refuse(path, fmt::format("its registration function threw: {}", e.what()));
  } catch (...) {
    refuse(path, "its registration function threw a non-standard exception");
  }
  return std::move(registrar.ops());
}

void check_declarations(const std::vector<OpSchema>& ops, const OpRegistry& registry, const std::string& path) {
  if (ops.empty()) refuse(path, "it registers no ops");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const OpSchema& op = ops[i];
    if (op.name.empty()) refuse(path, fmt::format("op #{} has no name", i));
    if (!op.factory) refuse(path, fmt::format("op '{}' has no factory", op.name));
    if (op.samples.empty()) refuse(path, fmt::format("op '{}' declares no samples to gradcheck", op.name));
    if (registry.contains(op.name))
      refuse(path, fmt::format("op '{}' is already registered (by {})", op.name, registry.schema(op.name).origin));
    for (std::size_t j = 0; j < i; ++j)
      if (ops[j].name == op.name) refuse(path, fmt::format("op '{}' is registered twice", op.name));
  }
}

std::string describe_inputs(const OpSample& sample) {
  std::string out;
  for (const GradcheckInput& in : sample.inputs)
    out += (out.empty() ? "" : ", ") + to_string(TensorType{in.dtype, in.shape});
  return "(inputs " + out + ")";
}

// Every sample must pass, and together they must compare at least one
// element: a gradcheck of nothing passes whatever the backward computes.
void check_gradients(const OpSchema& op, const std::string& path) {
  int checked = 0;
  for (std::size_t i = 0; i < op.samples.size(); ++i) {
    const OpSample& sample = op.samples[i];
    auto build = [&](Graph& g, const std::vector<Expr>& x) { return g.add(op.factory(sample.attributes), x); };
    GradcheckResult r;
    try {
      r = gradcheck(build, sample.inputs, {.training = sample.training});
    } catch (const std::exception& e) {
      refuse(path, fmt::format("op '{}' throws on sample {} {}: {}", op.name, i, describe_inputs(sample), e.what()));
    }
    if (!r.ok)
      refuse(path,
             fmt::format("op '{}' fails gradcheck on sample {} {}:\n{}", op.name, i, describe_inputs(sample), r.report));
    checked += r.checked;
  }
  if (checked == 0)
    refuse(path, fmt::format("op '{}': its samples check no gradient (no sample has a differentiable, non-empty "
                             "floating input or parameter); declare one whose gradient gradcheck can compare",
                             op.name));
}

// Every declared shape-error case (declaring them is optional) must be
// refused by infer() with a ShapeError whose message starts "[name]".
void check_shape_errors(const OpSchema& op, const std::string& path) {
  for (std::size_t i = 0; i < op.shape_errors.size(); ++i) {
    const OpShapeErrorSample& bad = op.shape_errors[i];
    std::string inputs;
    for (const TensorType& t : bad.inputs) inputs += (inputs.empty() ? "" : ", ") + to_string(t);
    const std::string what = fmt::format("op '{}' shape-error case {} (inputs {})", op.name, i, inputs);
    try {
      op.factory(bad.attributes)->infer(bad.inputs);
    } catch (const ShapeError& e) {
      if (std::string_view(e.what()).starts_with("[" + op.name + "]")) continue;
      refuse(path, fmt::format("{}: the ShapeError must start with \"[{}]\", got: {}", what, op.name, e.what()));
    } catch (const std::exception& e) {
      refuse(path, fmt::format("{}: infer() must throw a ShapeError, it threw: {}", what, e.what()));
    }
    refuse(path, fmt::format("{}: infer() accepts it; it must throw a ShapeError", what));
  }
}

}  // namespace

PluginInfo load_plugin(const std::string& path, OpRegistry& registry) {
  Library library(path);  // declared first: closed last, after every object the plugin made
  const auto abi = library.entry_point<AbiFunction>("attograd_plugin_abi");
  const auto register_ops = library.entry_point<RegisterFunction>("attograd_plugin_register");

  static constexpr AbiStamp host = abi_stamp_here();
  const AbiStamp* stamp = abi();
  if (stamp == nullptr) refuse(path, "attograd_plugin_abi() returned null");
  if (const std::string why = abi_mismatch(*stamp, host); !why.empty()) refuse(path, why);

  std::vector<OpSchema> ops = collect_ops(register_ops, path);
  check_declarations(ops, registry, path);
  for (const OpSchema& op : ops) {
    check_gradients(op, path);
    check_shape_errors(op, path);
  }

  PluginInfo info{path, {}};
  for (OpSchema& op : ops) {
    op.origin = path;
    info.ops.push_back(op.name);
  }
  try {
    registry.add_all(std::move(ops));  // a concurrent load may have taken a name since the check
  } catch (const Error& e) {
    refuse(path, e.what());
  }
  library.keep();
  return info;
}

}  // namespace attograd
