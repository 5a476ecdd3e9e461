#include "app/checkpoint_check.hpp"

#include <set>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/safetensors.hpp"
#include "app/model_size.hpp"
#include "app/settings.hpp"
#include "models/layers.hpp"

namespace attograd {
namespace {

constexpr std::string_view kOptimizerPrefix = "optimizer.";

class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path) {}
  [[noreturn]] void fail(const std::string& problem) const {
    throw FileError(fmt::format("[checkpoint] '{}': {}", path_, problem));
  }
  void in_range(const char* entry, std::int64_t value, std::int64_t low, std::int64_t high) const {
    if (value < low || value > high) fail(fmt::format("'{}' = {} is outside {}..{}", entry, value, low, high));
  }
  void one_of(const Metadata& m, const char* entry, std::initializer_list<const char*> allowed) const {
    const auto it = m.find(entry);
    if (it == m.end()) return;  // from_metadata names a missing entry
    for (const char* a : allowed)
      if (it->second == a) return;
    fail(fmt::format("'{}' = '{}' is not one of {}", entry, excerpt(it->second), fmt::join(allowed, ", ")));
  }

 private:
  const std::string& path_;
};

// What from_metadata would read wrongly or with an unhelpful message.
void check_entries(const Checker& c, const Metadata& m) {
  c.one_of(m, "model.norm", {"pre", "post"});
  c.one_of(m, "model.activation", {"relu", "gelu"});
  c.one_of(m, "train.precision", {"f32", "bf16"});
  if (const auto it = m.find("lm.alphabet_hex"); it != m.end()) {
    const std::string& h = it->second;
    if (h.size() % 2 != 0 || h.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      c.fail(fmt::format("'lm.alphabet_hex' = '{}' is not an even number of hexadecimal digits", excerpt(h)));
  }
}

// A stored setting with a flag holds a value that flag accepts: otherwise a
// resumed run would train with, say, --lr nan, which the command line refuses.
void check_flag_ranges(const Checker& c, const Metadata& m) {
  for (const Setting& s : train_settings()) {
    const auto it = m.find(s.key);
    if (s.key.empty() || !s.check.range || it == m.end()) continue;
    const auto [low, high] = *s.check.range;
    double value = 0;
    try {
      std::size_t used = 0;
      value = std::stod(it->second, &used);
      if (used != it->second.size()) continue;  // not a number: from_metadata names it
    } catch (const std::logic_error&) {
      continue;  // from_metadata names it
    }
    if (!(value >= low && value <= high))
      c.fail(fmt::format("'{}' = {} is outside {}..{}, the range of {}", s.key, excerpt(it->second), low, high,
                         s.flag));
  }
}

void check_bounds(const Checker& c, const RunConfig& config, const ModelBounds& b) {
  const TransformerConfig& m = config.model;
  c.in_range("model.layers", m.layers, 1, b.max_layers);
  c.in_range("model.d_model", m.d_model, 2, b.max_d_model);
  c.in_range("model.heads", m.heads, 1, std::min(b.max_heads, m.d_model));
  if (m.d_model % m.heads != 0) c.fail(fmt::format("'model.heads' = {} does not divide 'model.d_model' = {}", m.heads, m.d_model));
  c.in_range("model.d_ff", m.d_ff, 1, b.max_d_ff);
  c.in_range("model.src_vocab", m.src_vocab, 2, b.max_vocab);
  c.in_range("model.tgt_vocab", m.tgt_vocab, 2, b.max_vocab);
  c.in_range("train.batch", config.batch, 1, b.max_batch);
  if (config.task == "lm") c.in_range("lm.context", config.context, 1, kMaxPositions - 1);
  if (!(m.dropout >= 0 && m.dropout < 1)) c.fail(fmt::format("'model.dropout' = {} is outside [0, 1)", m.dropout));
  if (!(config.label_smoothing >= 0 && config.label_smoothing < 1))
    c.fail(fmt::format("'train.label_smoothing' = {} is outside [0, 1)", config.label_smoothing));
  const double bytes = estimated_training_bytes(config);
  if (bytes > b.memory_budget)
    c.fail(fmt::format("its model ({} layers, D {}, F {}, H {}, vocabularies {}/{}, batch {}) would need about {:.1f} GiB "
                       "to train, more than the {:.0f} GiB attograd accepts",
                       m.layers, m.d_model, m.d_ff, m.heads, m.src_vocab, m.tgt_vocab, config.batch, bytes / (1ull << 30),
                       b.memory_budget / (1ull << 30)));
}

void check_tensors(const Checker& c, const SafetensorsHeader& header, const RunConfig& config) {
  const std::map<std::string, Shape> expected = expected_parameters(config);
  std::set<std::string> found;
  for (const TensorInfo& t : header.tensors) {
    const bool state = t.name.starts_with(kOptimizerPrefix);
    const std::string param = state ? t.name.substr(kOptimizerPrefix.size(), t.name.rfind('.') - kOptimizerPrefix.size()) : t.name;
    const auto it = expected.find(param);
    if (it == expected.end())
      c.fail(fmt::format("tensor '{}' is not {} of the model its metadata describes", excerpt(t.name),
                         state ? "optimizer state of a parameter" : "a parameter"));
    if (t.dtype != DType::f32) c.fail(fmt::format("tensor '{}' is {}, the model's parameters are f32", t.name, dtype_name(t.dtype)));
    if (t.shape != it->second)
      c.fail(fmt::format("tensor '{}' has shape {}, the model its metadata describes has {}", t.name, to_string(t.shape),
                         to_string(it->second)));
    if (!state) found.insert(t.name);
  }
  for (const auto& [name, shape] : expected)
    if (!found.count(name))
      c.fail(fmt::format("parameter '{}' {} of the model its metadata describes is not in the file ({} of {} are)", name,
                         to_string(shape), found.size(), expected.size()));
}

}  // namespace

RunConfig check_run_metadata(const Metadata& metadata, const std::string& path, const ModelBounds& bounds) {
  const Checker c(path);
  check_entries(c, metadata);
  check_flag_ranges(c, metadata);
  const RunConfig config = from_metadata(metadata, path);
  check_bounds(c, config, bounds);
  return config;
}

RunConfig check_checkpoint(const std::string& path, const ModelBounds& bounds) {
  const SafetensorsHeader header = read_safetensors_header(path);
  const RunConfig config = check_run_metadata(header.metadata, path, bounds);
  check_tensors(Checker(path), header, config);
  return config;
}

}  // namespace attograd
