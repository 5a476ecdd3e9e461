#include "app/run_config.hpp"

#include <fstream>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>

#include "app/lm.hpp"
#include "app/tasks/task.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

template <class T> T pick(T given, T fallback) { return given >= 0 ? given : fallback; }

std::string hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}
std::string unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}


}  // namespace

RunConfig resolve_config(const TrainOptions& o) {
  RunConfig c;
  c.task = o.task;
  TaskDefaults d;
  if (o.task == "lm") {
    d.layers = 2, d.d_model = 128, d.heads = 4, d.d_ff = 512, d.dropout = 0.1, d.batch = 32, d.steps = 1000;
    d.warmup = 100, d.lr_factor = 1.0, d.label_smoothing = 0.0;
    c.data = o.data.empty() ? kDefaultCorpus : o.data;
    const std::string text = read_text_file(c.data);
    c.data_hash = fnv1a(text);
    c.alphabet = CharVocab(text).alphabet();
    c.context = 64;
    c.model.src_vocab = c.model.tgt_vocab = static_cast<std::int64_t>(c.alphabet.size()) + 1;
  } else {
    auto task = make_task(o.task);
    d = task->defaults();
    c.model.src_vocab = task->src_vocab();
    c.model.tgt_vocab = task->tgt_vocab();
  }
  c.model.layers = pick(o.layers, d.layers);
  c.model.d_model = pick(o.d_model, d.d_model);
  c.model.heads = pick(o.heads, d.heads);
  c.model.d_ff = pick(o.d_ff, d.d_ff);
  c.model.dropout = pick(o.dropout, d.dropout);
  c.model.norm = o.norm.empty() ? (d.pre_norm ? NormPlacement::pre : NormPlacement::post)
                                : (o.norm == "pre" ? NormPlacement::pre : NormPlacement::post);
  c.model.activation = o.activation == "gelu" ? Activation::gelu : Activation::relu;
  if (c.model.d_model % c.model.heads != 0)
    throw Error(fmt::format("[train] --heads {} does not divide --d-model {}", c.model.heads, c.model.d_model));
  c.label_smoothing = pick(o.label_smoothing, d.label_smoothing);
  c.batch = pick(o.batch, d.batch);
  c.steps = o.epochs > 0 ? o.epochs * o.steps_per_epoch : pick(o.steps, d.steps);
  c.schedule_steps = o.lr_schedule == "cosine" ? c.steps : 0;  // no other schedule has an end
  c.eval_every = o.eval_every > 0 ? o.eval_every : (o.task == "copy" ? o.steps_per_epoch : std::max<std::int64_t>(1, c.steps / 10));
  c.eval_batches = d.eval_batches;
  c.warmup = pick(o.warmup, d.warmup);
  c.lr_schedule = o.lr_schedule;
  c.lr = o.lr >= 0 ? o.lr : (o.lr_schedule == "noam" ? d.lr_factor : 1e-3);
  c.optimizer = o.optimizer;
  c.beta1 = o.beta1, c.beta2 = o.beta2, c.eps = o.eps, c.clip = o.clip;
  c.weight_decay = o.weight_decay >= 0 ? o.weight_decay : (o.optimizer == "adamw" ? 0.01 : 0.0);
  c.accumulate = o.accumulate;
  c.seed = o.seed;
  return c;
}

std::map<std::string, std::string> to_metadata(const RunConfig& c) {
  auto text = [](auto v) { return fmt::format("{}", v); };  // shortest form that reads back exactly
  return {{"task", c.task},
          {"model.layers", text(c.model.layers)},
          {"model.d_model", text(c.model.d_model)},
          {"model.heads", text(c.model.heads)},
          {"model.d_ff", text(c.model.d_ff)},
          {"model.dropout", text(c.model.dropout)},
          {"model.norm", c.model.norm == NormPlacement::pre ? "pre" : "post"},
          {"model.activation", c.model.activation == Activation::gelu ? "gelu" : "relu"},
          {"model.src_vocab", text(c.model.src_vocab)},
          {"model.tgt_vocab", text(c.model.tgt_vocab)},
          {"train.label_smoothing", text(c.label_smoothing)},
          {"train.batch", text(c.batch)},
          {"train.steps", text(c.steps)},
          {"train.lr_schedule", c.lr_schedule},
          {"train.lr", text(c.lr)},
          {"train.schedule_steps", text(c.schedule_steps)},
          {"train.warmup", text(c.warmup)},
          {"train.optimizer", c.optimizer},
          {"train.beta1", text(c.beta1)},
          {"train.beta2", text(c.beta2)},
          {"train.eps", text(c.eps)},
          {"train.weight_decay", text(c.weight_decay)},
          {"train.clip", text(c.clip)},
          {"train.accumulate", text(c.accumulate)},
          {"lm.data", c.data},
          {"lm.data_hash", text(c.data_hash)},
          {"lm.alphabet_hex", hex(c.alphabet)},
          {"lm.context", text(c.context)}};
}

namespace {

// Entries of one checkpoint's metadata; every miss or bad number names the file and the key.
class MetadataReader {
 public:
  MetadataReader(const std::map<std::string, std::string>& m, const std::string& path) : m_(m), path_(path) {}
  const std::string& text(const std::string& key) const {
    auto it = m_.find(key);
    if (it == m_.end())
      throw FileError(fmt::format("[checkpoint] '{}' has no '{}' entry: was it written by `attograd train`?", path_, key));
    return it->second;
  }
  double number(const std::string& key) const { return parse<double>(key); }
  std::int64_t integer(const std::string& key) const { return parse<long long>(key); }
  std::uint64_t unsigned_integer(const std::string& key) const { return parse<unsigned long long>(key); }

 private:
  template <class T> T parse(const std::string& key) const {
    const std::string& v = text(key);
    try {
      std::size_t used = 0;
      T x{};
      if constexpr (std::is_same_v<T, double>) x = std::stod(v, &used);
      else if constexpr (std::is_same_v<T, long long>) x = std::stoll(v, &used);
      else x = std::stoull(v, &used);
      if (used == v.size() && (std::is_signed_v<T> || v.front() != '-')) return x;
    } catch (const std::logic_error&) {
    }
    throw FileError(fmt::format("[checkpoint] '{}': entry '{}' = '{}' is not a number", path_, key, v));
  }
  const std::map<std::string, std::string>& m_;
  const std::string& path_;
};

}  // namespace

RunConfig from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  const MetadataReader r(m, path);
  RunConfig c;
  c.task = r.text("task");
  c.model.layers = r.integer("model.layers");
  c.model.d_model = r.integer("model.d_model");
  c.model.heads = r.integer("model.heads");
  c.model.d_ff = r.integer("model.d_ff");
  c.model.dropout = r.number("model.dropout");
  c.model.norm = r.text("model.norm") == "pre" ? NormPlacement::pre : NormPlacement::post;
  c.model.activation = r.text("model.activation") == "gelu" ? Activation::gelu : Activation::relu;
  c.model.src_vocab = r.integer("model.src_vocab");
  c.model.tgt_vocab = r.integer("model.tgt_vocab");
  c.label_smoothing = r.number("train.label_smoothing");
  c.batch = r.integer("train.batch");
  c.steps = r.integer("train.steps");
  c.alphabet = unhex(r.text("lm.alphabet_hex"));
  c.context = r.integer("lm.context");
  // The corpus and its hash, for `eval lm` (every checkpoint has them; a
  // hand-made one need not).
  if (const auto it = m.find("lm.data"); it != m.end()) c.data = it->second;
  if (m.count("lm.data_hash")) c.data_hash = r.unsigned_integer("lm.data_hash");
  if (c.model.heads <= 0 || c.model.d_model % c.model.heads != 0 || c.model.layers <= 0)
    throw FileError(fmt::format("[checkpoint] '{}' describes an impossible model", path));
  return c;
}

RunConfig training_from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  const MetadataReader r(m, path);
  RunConfig c = from_metadata(m, path);
  if (!m.count("train.lr_schedule"))
    throw FileError(fmt::format("[checkpoint] '{}' was written before checkpoints kept the training configuration "
                                "(optimizer, schedule, ...): it can be evaluated and decoded, not resumed exactly", path));
  c.seed = r.unsigned_integer("seed");
  c.lr_schedule = r.text("train.lr_schedule");
  c.lr = r.number("train.lr");
  c.schedule_steps = r.integer("train.schedule_steps");
  c.warmup = r.integer("train.warmup");
  c.optimizer = r.text("train.optimizer");
  c.beta1 = r.number("train.beta1");
  c.beta2 = r.number("train.beta2");
  c.eps = r.number("train.eps");
  c.weight_decay = r.number("train.weight_decay");
  c.clip = r.number("train.clip");
  c.accumulate = r.integer("train.accumulate");
  c.data = r.text("lm.data");
  c.data_hash = r.unsigned_integer("lm.data_hash");
  if (c.accumulate < 1 || c.batch < 1)
    throw FileError(fmt::format("[checkpoint] '{}' describes an impossible training run", path));
  return c;
}

std::uint64_t fnv1a(const std::string& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

}  // namespace attograd
