#include "cli/run_config.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cli/lm.hpp"
#include "cli/tasks/task.hpp"
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
    c.alphabet = CharVocab(read_text_file(c.data)).alphabet();
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
  c.eval_every = o.eval_every > 0 ? o.eval_every : (o.task == "copy" ? o.steps_per_epoch : std::max<std::int64_t>(1, c.steps / 10));
  c.eval_batches = d.eval_batches;
  c.warmup = pick(o.warmup, d.warmup);
  c.lr_schedule = o.lr_schedule;
  c.lr = o.lr >= 0 ? o.lr : (o.lr_schedule == "noam" ? d.lr_factor : 1e-3);
  c.optimizer = o.optimizer;
  c.beta1 = o.beta1, c.beta2 = o.beta2, c.eps = o.eps, c.weight_decay = o.weight_decay, c.clip = o.clip;
  c.accumulate = o.accumulate;
  c.seed = o.seed;
  return c;
}

std::map<std::string, std::string> to_metadata(const RunConfig& c) {
  return {{"task", c.task},
          {"model.layers", std::to_string(c.model.layers)},
          {"model.d_model", std::to_string(c.model.d_model)},
          {"model.heads", std::to_string(c.model.heads)},
          {"model.d_ff", std::to_string(c.model.d_ff)},
          {"model.dropout", fmt::format("{}", c.model.dropout)},
          {"model.norm", c.model.norm == NormPlacement::pre ? "pre" : "post"},
          {"model.activation", c.model.activation == Activation::gelu ? "gelu" : "relu"},
          {"model.src_vocab", std::to_string(c.model.src_vocab)},
          {"model.tgt_vocab", std::to_string(c.model.tgt_vocab)},
          {"train.label_smoothing", fmt::format("{}", c.label_smoothing)},
          {"train.batch", std::to_string(c.batch)},
          {"train.steps", std::to_string(c.steps)},
          {"lm.alphabet_hex", hex(c.alphabet)},
          {"lm.context", std::to_string(c.context)}};
}

RunConfig from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  auto get = [&](const std::string& key) -> const std::string& {
    auto it = m.find(key);
    if (it == m.end())
      throw FileError(fmt::format("[checkpoint] '{}' has no '{}' entry: was it written by `attograd train`?", path, key));
    return it->second;
  };
  auto number = [&](const std::string& key) {
    try {
      return std::stod(get(key));
    } catch (const std::logic_error&) {
      throw FileError(fmt::format("[checkpoint] '{}': entry '{}' = '{}' is not a number", path, key, get(key)));
    }
  };
  RunConfig c;
  c.task = get("task");
  c.model.layers = static_cast<std::int64_t>(number("model.layers"));
  c.model.d_model = static_cast<std::int64_t>(number("model.d_model"));
  c.model.heads = static_cast<std::int64_t>(number("model.heads"));
  c.model.d_ff = static_cast<std::int64_t>(number("model.d_ff"));
  c.model.dropout = number("model.dropout");
  c.model.norm = get("model.norm") == "pre" ? NormPlacement::pre : NormPlacement::post;
  c.model.activation = get("model.activation") == "gelu" ? Activation::gelu : Activation::relu;
  c.model.src_vocab = static_cast<std::int64_t>(number("model.src_vocab"));
  c.model.tgt_vocab = static_cast<std::int64_t>(number("model.tgt_vocab"));
  c.label_smoothing = number("train.label_smoothing");
  c.batch = static_cast<std::int64_t>(number("train.batch"));
  c.steps = static_cast<std::int64_t>(number("train.steps"));
  c.alphabet = unhex(get("lm.alphabet_hex"));
  c.context = static_cast<std::int64_t>(number("lm.context"));
  if (c.model.heads <= 0 || c.model.d_model % c.model.heads != 0 || c.model.layers <= 0)
    throw FileError(fmt::format("[checkpoint] '{}' describes an impossible model", path));
  return c;
}

}  // namespace attograd
