#include "train/checkpoint.hpp"

#include <charconv>
#include <set>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

constexpr std::string_view kOptimizerPrefix = "optimizer.";  // tensors, and metadata keys
constexpr std::string_view kSchedulePrefix = "schedule.";
constexpr std::string_view kFormatKey = "attograd_format_version";
constexpr std::string_view kFormatVersion = "1";

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw FileError(fmt::format("[checkpoint] {}: {}", path, problem));
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_reserved(std::string_view key) {
  return key == kFormatKey || key == "step" || key == "seed" || key == "optimizer" || key == "schedule" ||
         starts_with(key, kOptimizerPrefix) || starts_with(key, kSchedulePrefix);
}

// fmt's "{}" prints the shortest text that reads back as the same double.
Metadata encode_state(const TrainingState& s) {
  Metadata m;
  for (const auto& [key, value] : s.extra) {
    if (is_reserved(key)) throw Error(fmt::format("[checkpoint] extra metadata key '{}' is reserved", key));
    m[key] = value;
  }
  m[std::string(kFormatKey)] = std::string(kFormatVersion);
  m["step"] = fmt::format("{}", s.step);
  m["seed"] = fmt::format("{}", s.seed);
  if (!s.optimizer.empty()) m["optimizer"] = s.optimizer;
  for (const auto& [k, v] : s.optimizer_hyperparameters) m[fmt::format("{}{}", kOptimizerPrefix, k)] = fmt::format("{}", v);
  if (!s.schedule.empty()) m["schedule"] = s.schedule;
  for (const auto& [k, v] : s.schedule_parameters) m[fmt::format("{}{}", kSchedulePrefix, k)] = fmt::format("{}", v);
  return m;
}

template <class T>
T parse_number(const std::string& path, const std::string& key, const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    fail(path, fmt::format("metadata \"{}\" is not a valid number: \"{}\"", key, text));
  return value;
}

TrainingState decode_state(const std::string& path, const Metadata& m) {
  if (auto it = m.find(std::string(kFormatKey)); it != m.end() && it->second != kFormatVersion)
    fail(path, fmt::format("unknown {} \"{}\" (this build reads {})", kFormatKey, it->second, kFormatVersion));
  TrainingState s;
  for (const auto& [key, value] : m) {
    if (key == "step") s.step = parse_number<std::int64_t>(path, key, value);
    else if (key == "seed") s.seed = parse_number<std::uint64_t>(path, key, value);
    else if (key == "optimizer") s.optimizer = value;
    else if (key == "schedule") s.schedule = value;
    else if (starts_with(key, kOptimizerPrefix))
      s.optimizer_hyperparameters[key.substr(kOptimizerPrefix.size())] = parse_number<double>(path, key, value);
    else if (starts_with(key, kSchedulePrefix))
      s.schedule_parameters[key.substr(kSchedulePrefix.size())] = parse_number<double>(path, key, value);
    else if (key != kFormatKey) s.extra[key] = value;
  }
  if (s.step < 0) fail(path, fmt::format("metadata \"step\" is negative: {}", s.step));
  return s;
}

void check_matches(const std::string& path, const std::string& name, const Tensor& file, const Tensor& model) {
  if (file.dtype() != model.dtype())
    fail(path, fmt::format("tensor '{}' is {} in the file but {} in the model", name, dtype_name(file.dtype()),
                           dtype_name(model.dtype())));
  if (file.shape() != model.shape())
    fail(path, fmt::format("tensor '{}' has shape {} in the file but {} in the model", name, to_string(file.shape()),
                           to_string(model.shape())));
}

// The parameter a state tensor "optimizer.<param>.<slot>" belongs to, or null.
Parameter* state_owner(ParameterStore& store, const std::string& name, std::string& slot) {
  if (!starts_with(name, kOptimizerPrefix)) return nullptr;
  const std::size_t dot = name.rfind('.');
  if (dot <= kOptimizerPrefix.size() || dot + 1 == name.size()) return nullptr;
  const std::string param = name.substr(kOptimizerPrefix.size(), dot - kOptimizerPrefix.size());
  if (!store.contains(param)) return nullptr;
  slot = name.substr(dot + 1);
  return &store.at(param);
}

void check_none_missing(const std::string& path, const ParameterStore& store, const std::set<std::string>& found) {
  std::vector<std::string> missing;
  for (const Parameter& p : store.all())
    if (!found.count(p.name)) missing.push_back("'" + p.name + "'");
  if (missing.empty()) return;
  const std::size_t shown = std::min<std::size_t>(missing.size(), 5);
  fail(path, fmt::format("{} parameter(s) of the model missing from the file: {}{}", missing.size(),
                         fmt::join(missing.begin(), missing.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                         shown < missing.size() ? ", ..." : ""));
}

}  // namespace

void save_checkpoint(const std::string& path, const ParameterStore& store, const TrainingState& state) {
  NamedTensors tensors;
  for (const Parameter& p : store.all()) {
    if (starts_with(p.name, kOptimizerPrefix))
      throw Error(fmt::format("[checkpoint] parameter name '{}' clashes with optimizer state names", p.name));
    tensors.emplace_back(p.name, p.value);
  }
  for (const Parameter& p : store.all())
    for (const auto& [slot, t] : p.state) tensors.emplace_back(fmt::format("{}{}.{}", kOptimizerPrefix, p.name, slot), t);
  save_safetensors(path, tensors, encode_state(state));
}

void load_checkpoint(const std::string& path, ParameterStore& store, TrainingState& state) {
  const SafetensorsFile file = load_safetensors(path);
  TrainingState parsed = decode_state(path, file.metadata);
  std::vector<std::pair<Parameter*, const Tensor*>> values;
  std::map<Parameter*, std::map<std::string, Tensor>> slots;
  std::set<std::string> found;
  for (const auto& [name, t] : file.tensors) {
    std::string slot;
    if (store.contains(name)) {
      Parameter& p = store.at(name);
      check_matches(path, name, t, p.value);
      values.emplace_back(&p, &t);
      found.insert(name);
    } else if (Parameter* owner = state_owner(store, name, slot)) {
      check_matches(path, name, t, owner->value);
      slots[owner][slot] = t;
    } else {
      fail(path, fmt::format("tensor '{}' is not a parameter of the model (nor its optimizer state)", name));
    }
  }
  check_none_missing(path, store, found);
  // Everything is valid: only now change the model.
  for (auto [p, t] : values) p->value.copy_from(*t);
  for (Parameter& p : store.all()) p.state = std::move(slots[&p]);
  state = std::move(parsed);
}

}  // namespace attograd
