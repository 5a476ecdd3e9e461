// The op registry: op name -> factory, so graphs can name ops they do not
// link against (plugins, files, the command line). default_registry() holds
// the built-in ops whenever the ops library is part of the program: loading
// libattograd_ops installs a hook (set_builtin_ops) that default_registry()
// calls once, on first use, so no call is needed before apply(). The engine
// never names the ops library. Run-time plugins add their ops through the
// loader (engine/plugin.hpp); register_builtin_ops(registry) in
// ops/builtin.hpp fills a registry of your own.
//
//   OpPtr sm = default_registry().create("softmax", {{"axis", std::int64_t{-1}}});
//   Expr y = apply("softmax", {x}, {{"axis", std::int64_t{-1}}});
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "engine/gradcheck.hpp"
#include "engine/op.hpp"

namespace attograd {

using AttrValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>>;

// Named op attributes with typed, checked access.
class Attributes {
 public:
  Attributes() = default;
  Attributes(std::initializer_list<std::pair<const std::string, AttrValue>> values) : values_(values) {}
  void set(const std::string& key, AttrValue v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }

  // Each throws Error("[op] attribute 'key' ...") if absent (without a
  // fallback) or of another type. An integer is accepted where a double is asked.
  std::int64_t get_int(const std::string& op, const std::string& key) const;
  std::int64_t get_int(const std::string& op, const std::string& key, std::int64_t fallback) const;
  double get_double(const std::string& op, const std::string& key) const;
  double get_double(const std::string& op, const std::string& key, double fallback) const;
  std::string get_string(const std::string& op, const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> get_ints(const std::string& op, const std::string& key,
                                     const std::vector<std::int64_t>& fallback) const;
  const std::map<std::string, AttrValue>& values() const { return values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

using OpFactory = std::function<OpPtr(const Attributes&)>;

// Sample inputs on which the loader gradchecks an op before it is usable,
// and on which tests/ops/test_registered_ops.cpp checks every registered op
// (helpers to write them: engine/op_samples.hpp).
struct OpSample {
  std::vector<GradcheckInput> inputs;
  Attributes attributes;
  bool training = false;  // run in training mode (dropout: masks fixed by the seed)
};

// Input types that the op's infer() must refuse with a ShapeError whose
// message starts "[name]".
struct OpShapeErrorSample {
  std::vector<TensorType> inputs;
  Attributes attributes;
};

struct OpSchema {
  std::string name;
  std::string summary;          // one line: what it computes, with shapes
  OpFactory factory;
  std::vector<OpSample> samples;
  std::vector<OpShapeErrorSample> shape_errors;
  std::string origin = "builtin";  // or the plugin's path
  bool bf16_kernel = false;     // computes its products in bf16 when the run asks (engine/precision.hpp)
};

class OpRegistry {
 public:
  // Throws Error if the name is taken (saying by whom).
  void add(OpSchema schema);
  // Adds every schema or, if any name is taken or repeated, none (throws Error).
  void add_all(std::vector<OpSchema> schemas);
  bool contains(const std::string& name) const;
  const OpSchema& schema(const std::string& name) const;
  OpPtr create(const std::string& name, const Attributes& attributes = {}) const;
  std::vector<std::string> names() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, OpSchema> ops_;
};

// The process-wide registry the command line and apply() use. Its first use
// after the ops library has set its hook adds the built-in ops (once,
// thread-safe).
OpRegistry& default_registry();

// Called by the ops library when it is loaded (a static initializer of
// ops/builtin.cpp); `add_builtins` fills default_registry() on its next use.
using BuiltinOpsHook = void (*)(OpRegistry&);
void set_builtin_ops(BuiltinOpsHook add_builtins);

// Creates op `name` from `registry` and adds it to the inputs' graph.
Expr apply(const std::string& name, const std::vector<Expr>& inputs, const Attributes& attributes = {},
           const OpRegistry& registry = default_registry());

}  // namespace attograd
