#include "engine/registry.hpp"

#include <atomic>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

// Constant-initialized: null before any library's static initializer runs.
std::atomic<BuiltinOpsHook> builtin_ops_hook{nullptr};

template <class T>
const T* find_typed(const std::map<std::string, AttrValue>& values, const std::string& op, const std::string& key,
                    const char* type_name) {
  auto it = values.find(key);
  if (it == values.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  if (v == nullptr) throw Error(fmt::format("[{}] attribute '{}' must be {}", op, key, type_name));
  return v;
}

}  // namespace

std::int64_t Attributes::get_int(const std::string& op, const std::string& key) const {
  const auto* v = find_typed<std::int64_t>(values_, op, key, "an integer");
  if (v == nullptr) throw Error(fmt::format("[{}] missing attribute '{}'", op, key));
  return *v;
}
std::int64_t Attributes::get_int(const std::string& op, const std::string& key, std::int64_t fallback) const {
  const auto* v = find_typed<std::int64_t>(values_, op, key, "an integer");
  return v ? *v : fallback;
}
double Attributes::get_double(const std::string& op, const std::string& key) const {
  if (!has(key)) throw Error(fmt::format("[{}] missing attribute '{}'", op, key));
  return get_double(op, key, 0.0);
}
double Attributes::get_double(const std::string& op, const std::string& key, double fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  if (const auto* i = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*i);
  return *find_typed<double>(values_, op, key, "a number");
}
std::string Attributes::get_string(const std::string& op, const std::string& key, const std::string& fallback) const {
  const auto* v = find_typed<std::string>(values_, op, key, "a string");
  return v ? *v : fallback;
}
std::vector<std::int64_t> Attributes::get_ints(const std::string& op, const std::string& key,
                                               const std::vector<std::int64_t>& fallback) const {
  const auto* v = find_typed<std::vector<std::int64_t>>(values_, op, key, "a list of integers");
  return v ? *v : fallback;
}

void OpRegistry::add(OpSchema schema) {
  std::vector<OpSchema> one;
  one.push_back(std::move(schema));
  add_all(std::move(one));
}

void OpRegistry::add_all(std::vector<OpSchema> schemas) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < schemas.size(); ++i) {
    const OpSchema& s = schemas[i];
    if (s.name.empty() || !s.factory) throw Error("[registry] an op needs a name and a factory");
    if (auto it = ops_.find(s.name); it != ops_.end())
      throw Error(fmt::format("[registry] op '{}' is already registered (by {}); refusing the one from {}", s.name,
                              it->second.origin, s.origin));
    for (std::size_t j = 0; j < i; ++j)
      if (schemas[j].name == s.name)
        throw Error(fmt::format("[registry] op '{}' is added twice by {}", s.name, s.origin));
  }
  for (OpSchema& s : schemas) {
    std::string name = s.name;
    ops_.emplace(std::move(name), std::move(s));
  }
}

bool OpRegistry::contains(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return ops_.count(name) != 0;
}

const OpSchema& OpRegistry::schema(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = ops_.find(name);
  if (it == ops_.end())
    throw Error(fmt::format("[registry] no op named '{}'{}", name,
                            builtin_ops_hook.load() != nullptr
                                ? ""
                                : " (no built-in op is registered: the program does not load libattograd_ops; link "
                                  "it, or call ensure_builtin_ops() from ops/builtin.hpp)"));
  return it->second;  // entries are never removed: the reference stays valid
}

OpPtr OpRegistry::create(const std::string& name, const Attributes& attributes) const {
  return schema(name).factory(attributes);
}

std::vector<std::string> OpRegistry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, schema] : ops_) out.push_back(name);
  return out;
}

void set_builtin_ops(BuiltinOpsHook add_builtins) { builtin_ops_hook.store(add_builtins); }

OpRegistry& default_registry() {
  static OpRegistry registry;
  static std::once_flag filled;
  if (BuiltinOpsHook add = builtin_ops_hook.load()) std::call_once(filled, add, registry);
  return registry;
}

Expr apply(const std::string& name, const std::vector<Expr>& inputs, const Attributes& attributes,
           const OpRegistry& registry) {
  if (inputs.empty()) throw Error(fmt::format("[{}] apply() needs at least one input to find the graph", name));
  return inputs.front().graph->add(registry.create(name, attributes), inputs);
}

}  // namespace attograd
