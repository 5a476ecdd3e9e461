#include "app/run_config.hpp"

#include <fmt/format.h>

#include "app/tasks/registry.hpp"
#include "engine/error.hpp"

namespace attograd {

RunConfig resolve_config(const TrainOptions& o) {
  RunConfig c;
  c.task = o.task;
  const TaskDefaults d = find_task(o.task).prepare(c, o.data);
  c.model.layers = o.layers.value_or(d.layers);
  c.model.d_model = o.d_model.value_or(d.d_model);
  c.model.heads = o.heads.value_or(d.heads);
  c.model.d_ff = o.d_ff.value_or(d.d_ff);
  c.model.dropout = o.dropout.value_or(d.dropout);
  c.model.norm = o.norm.value_or(d.pre_norm ? "pre" : "post") == "pre" ? NormPlacement::pre : NormPlacement::post;
  c.model.activation = o.activation == "gelu" ? Activation::gelu : Activation::relu;
  c.precision = precision_from_name(o.precision).value_or(Precision::f32);  // the flag allows only the two
  if (c.model.d_model % c.model.heads != 0)
    throw Error(fmt::format("[train] --heads {} does not divide --d-model {}", c.model.heads, c.model.d_model));
  c.label_smoothing = o.label_smoothing.value_or(d.label_smoothing);
  c.batch = o.batch.value_or(d.batch);
  c.steps = o.epochs ? *o.epochs * o.steps_per_epoch : o.steps.value_or(d.steps);
  c.schedule_steps = o.lr_schedule == "cosine" ? c.steps : 0;  // no other schedule has an end
  c.eval_every = o.eval_every > 0             ? o.eval_every
                 : d.evaluate_every_epoch     ? o.steps_per_epoch
                                              : std::max<std::int64_t>(1, c.steps / 10);
  c.eval_batches = d.eval_batches;
  c.warmup = o.warmup.value_or(d.warmup);
  c.lr_schedule = o.lr_schedule;
  c.lr = o.lr.value_or(o.lr_schedule == "noam" ? d.lr_factor : 1e-3);
  c.optimizer = o.optimizer;
  c.beta1 = o.beta1, c.beta2 = o.beta2, c.eps = o.eps, c.clip = o.clip;
  c.weight_decay = o.weight_decay.value_or(o.optimizer == "adamw" ? 0.01 : 0.0);
  c.accumulate = o.accumulate;
  c.seed = o.seed;
  return c;
}

std::map<std::string, std::string> to_metadata(const RunConfig& c) {
  std::map<std::string, std::string> metadata;
  for (const Setting& s : train_settings())
    if (s.stored != Stored::no && s.stored != Stored::by_checkpoint) {
      std::string text = s.value.write(c);
      if (s.absent_means.empty() || text != s.absent_means) metadata[s.key] = std::move(text);
    }
  return metadata;
}

namespace {

// Reads the settings stored as `which` into `c`; a missing entry is an
// error when `required`. Every miss or bad value names the file and the key.
void read_entries(const std::map<std::string, std::string>& m, const std::string& path, Stored which, bool required,
                  RunConfig& c) {
  for (const Setting& s : train_settings()) {
    if (s.stored != which) continue;
    const auto it = m.find(s.key);
    if (it == m.end() && !s.absent_means.empty()) {
      s.value.read(c, s.absent_means);
      continue;
    }
    if (it == m.end() && !required) continue;
    if (it == m.end())
      throw FileError(fmt::format("[checkpoint] '{}' has no '{}' entry: was it written by `attograd train`?", path, s.key));
    if (!s.value.read(c, it->second))
      throw FileError(fmt::format("[checkpoint] '{}': entry '{}' = '{}' is not {}", path, s.key, excerpt(it->second),
                                  s.absent_means.empty() ? "a number" : "a valid value"));
  }
}

}  // namespace

RunConfig from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  RunConfig c;
  read_entries(m, path, Stored::model, /*required=*/true, c);
  // The corpus and its hash, for `eval lm` (every checkpoint has them; a hand-made one need not).
  read_entries(m, path, Stored::data, /*required=*/false, c);
  if (c.model.heads <= 0 || c.model.d_model % c.model.heads != 0 || c.model.layers <= 0)
    throw FileError(fmt::format("[checkpoint] '{}' describes an impossible model", path));
  return c;
}

RunConfig training_from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  RunConfig c = from_metadata(m, path);
  if (!m.count("train.lr_schedule"))
    throw FileError(fmt::format("[checkpoint] '{}' was written before checkpoints kept the training configuration "
                                "(optimizer, schedule, ...): it can be evaluated and decoded, not resumed exactly", path));
  read_entries(m, path, Stored::by_checkpoint, /*required=*/true, c);
  read_entries(m, path, Stored::training, /*required=*/true, c);
  read_entries(m, path, Stored::data, /*required=*/true, c);
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
