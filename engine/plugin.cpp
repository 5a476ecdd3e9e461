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

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/plugin_api.hpp"

namespace attograd {

void PluginRegistrar::add(OpSchema schema) { ops_.push_back(std::move(schema)); }

namespace {

using AbiFunction = const AbiStamp* (*)();
using RegisterFunction = void (*)(PluginRegistrar&);

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw PluginError(fmt::format("[plugin] {}: {}", path, what));
}

std::string flag_mismatch(const char* flag, std::uint32_t plugin, std::uint32_t host) {
  return fmt::format("ABI mismatch: {} is {} in the plugin but {} in this attograd; build the plugin with the same "
                     "compiler and flags as attograd",
                     flag, plugin, host);
}

std::string demangled(const std::string& symbol) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status),
                                                   &std::free);
  return status == 0 && name ? std::string(name.get()) : symbol;
}

// What differs, from dlopen's "<file>: undefined symbol: <mangled>": the
// standard library's mode as the signature shows it (compared with this
// attograd's stamp), else a symbol of attograd's that this version lacks.
std::string explain_load_error(const std::string& error) {
  const std::string marker = "undefined symbol: ";
  const std::size_t at = error.find(marker);
  if (at == std::string::npos) return "not a loadable shared library: " + error;
  const std::size_t begin = at + marker.size();
  const std::string symbol = demangled(error.substr(begin, error.find_first_of(" ,", begin) - begin));
  const std::string needs = fmt::format(" (it needs {}, which this attograd does not define)", symbol);
  static constexpr AbiStamp host = abi_stamp_here();
  auto has = [&](const char* text) { return symbol.find(text) != std::string::npos; };
  const bool debug = has("std::__debug::"), cxx11 = has("std::__cxx11::");
  if (debug != (host.debug_containers != 0) && (debug || has("std::vector<") || has("std::map<")))
    return flag_mismatch("_GLIBCXX_DEBUG", debug, host.debug_containers) + needs;
  if (cxx11 != (host.cxx11_string_abi != 0) && (cxx11 || has("std::basic_string<") || has("std::string")))
    return flag_mismatch("_GLIBCXX_USE_CXX11_ABI", cxx11, host.cxx11_string_abi) + needs;
  if (symbol.rfind("attograd::", 0) == 0)
    return fmt::format("it needs {}, which this attograd does not define: the plugin was built against another "
                       "version of attograd; rebuild it against this one",
                       symbol);
  return fmt::format("not a loadable shared library: undefined symbol {} ({})", symbol, error);
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

// Empty if the stamps match, else what differs, for the error message.
std::string abi_mismatch(const AbiStamp& plugin, const AbiStamp& host) {
  if (plugin.version != host.version)
    return fmt::format("ABI version mismatch: the plugin was built against ABI version {}, this attograd has "
                       "version {}; rebuild the plugin against this attograd",
                       plugin.version, host.version);
  struct Field {
    const char* what;
    std::uint32_t AbiStamp::*member;
  };
  static constexpr Field fields[] = {
      {"compiler (1 gcc, 2 clang)", &AbiStamp::compiler},
      {"compiler major version", &AbiStamp::compiler_major},
      {"_GLIBCXX_USE_CXX11_ABI", &AbiStamp::cxx11_string_abi},
      {"_GLIBCXX_DEBUG", &AbiStamp::debug_containers},
      {"sizeof(std::string)", &AbiStamp::sizeof_string},
      {"sizeof(std::function)", &AbiStamp::sizeof_function},
      {"sizeof(std::shared_ptr)", &AbiStamp::sizeof_shared_ptr},
      {"sizeof(Tensor)", &AbiStamp::sizeof_tensor},
      {"sizeof(Attributes)", &AbiStamp::sizeof_attributes},
      {"sizeof(OpSchema)", &AbiStamp::sizeof_op_schema},
      {"sizeof(GradcheckInput)", &AbiStamp::sizeof_gradcheck_input},
  };
  for (const Field& f : fields)
    if (plugin.*f.member != host.*f.member) return flag_mismatch(f.what, plugin.*f.member, host.*f.member);
  return {};
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
