#include "app/settings.hpp"

#include <cctype>
#include <type_traits>

#include <fmt/format.h>

#include "app/run_config.hpp"

namespace attograd {
namespace {

// Numbers read back only if the whole text is one (an unsigned one without a sign).
template <class T> bool parse(const std::string& text, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    out = text;
    return true;
  } else {
    try {
      std::size_t used = 0;
      if constexpr (std::is_same_v<T, double>) out = std::stod(text, &used);
      else if constexpr (std::is_signed_v<T>) out = std::stoll(text, &used);
      else out = std::stoull(text, &used);
      // stoull reads " -5" as 2^64 - 5: no leading space, and no sign for an unsigned
      return used == text.size() && !std::isspace(static_cast<unsigned char>(text.front())) &&
             (std::is_signed_v<T> || text.front() != '-');
    } catch (const std::logic_error&) {
      return false;
    }
  }
}

// A RunConfig member (or one of its model's), written in the shortest form that reads back exactly.
template <class T> SettingValue value(T RunConfig::*member) {
  return {[member](const RunConfig& c) { return fmt::format("{}", c.*member); },
          [member](RunConfig& c, const std::string& text) { return parse(text, c.*member); }};
}
template <class T> SettingValue value(T TransformerConfig::*member) {
  return {[member](const RunConfig& c) { return fmt::format("{}", c.model.*member); },
          [member](RunConfig& c, const std::string& text) { return parse(text, c.model.*member); }};
}

// Checkpoints hold "pre" or "post"; anything else reads as post.
SettingValue norm_value() {
  return {[](const RunConfig& c) { return std::string(c.model.norm == NormPlacement::pre ? "pre" : "post"); },
          [](RunConfig& c, const std::string& text) {
            c.model.norm = text == "pre" ? NormPlacement::pre : NormPlacement::post;
            return true;
          }};
}

// Checkpoints hold "relu" or "gelu"; anything else reads as relu.
SettingValue activation_value() {
  return {[](const RunConfig& c) { return std::string(c.model.activation == Activation::gelu ? "gelu" : "relu"); },
          [](RunConfig& c, const std::string& text) {
            c.model.activation = text == "gelu" ? Activation::gelu : Activation::relu;
            return true;
          }};
}

// Checkpoints hold "f32" or "bf16"; anything else is not a precision.
SettingValue precision_value() {
  return {[](const RunConfig& c) { return std::string(precision_name(c.precision)); },
          [](RunConfig& c, const std::string& text) {
            const std::optional<Precision> p = precision_from_name(text);
            if (p) c.precision = *p;
            return p.has_value();
          }};
}

// The lm alphabet's bytes as hex (metadata is JSON text; the bytes need not be).
SettingValue alphabet_value() {
  return {[](const RunConfig& c) {
            std::string hex;
            for (unsigned char byte : c.alphabet) hex += fmt::format("{:02x}", byte);
            return hex;
          },
          [](RunConfig& c, const std::string& hex) {
            if (hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return false;
            c.alphabet.clear();
            for (std::size_t i = 0; i < hex.size(); i += 2)
              c.alphabet.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
            return true;
          }};
}

}  // namespace

FlagCheck range(double min, double max) { return {.range = std::pair{min, max}}; }
FlagCheck one_of(std::vector<std::string> choices) { return {.one_of = std::move(choices)}; }
FlagCheck existing_file() { return {.existing_file = true}; }

const std::vector<Setting>& train_settings() {
  using O = TrainOptions;
  using RC = RunConfig;
  using TC = TransformerConfig;
  using enum OnResume;
  using enum Stored;
  static const std::vector<Setting> table{
    // The task: the positional argument (a resumed run checks it first, naming both tasks).
    {.key = "task", .stored = model, .value = value(&RC::task)},
    // The model and its data, shared with `attograd profile`. Defaults: the task's.
    {.flag = "--layers", .option = &O::layers, .check = range(1, 64),
     .help = "encoder and decoder layers N (default: the task's)",
     .profile = true, .on_resume = fixed, .key = "model.layers", .stored = model, .value = value(&TC::layers)},
    {.flag = "--d-model", .option = &O::d_model, .check = range(2, 65536), .help = "model width D",
     .profile = true, .on_resume = fixed, .key = "model.d_model", .stored = model, .value = value(&TC::d_model)},
    {.flag = "--heads", .option = &O::heads, .check = range(1, 1024), .help = "attention heads H (must divide D)",
     .profile = true, .on_resume = fixed, .key = "model.heads", .stored = model, .value = value(&TC::heads)},
    {.flag = "--d-ff", .option = &O::d_ff, .check = range(1, 262144), .help = "feed-forward width F",
     .profile = true, .on_resume = fixed, .key = "model.d_ff", .stored = model, .value = value(&TC::d_ff)},
    {.flag = "--dropout", .option = &O::dropout, .check = range(0.0, 0.99), .help = "dropout probability",
     .profile = true, .on_resume = fixed, .key = "model.dropout", .stored = model, .value = value(&TC::dropout)},
    {.flag = "--label-smoothing", .option = &O::label_smoothing, .check = range(0.0, 0.99),
     .help = "label smoothing epsilon",
     .profile = true, .on_resume = fixed, .key = "train.label_smoothing", .stored = model,
     .value = value(&RC::label_smoothing)},
    {.flag = "--norm", .option = &O::norm, .check = one_of({"pre", "post"}),
     .help = "residual placement: pre (Annotated Transformer) or post (the paper)",
     .profile = true, .on_resume = fixed, .key = "model.norm", .stored = model, .value = norm_value()},
    {.flag = "--activation", .option = &O::activation, .check = one_of({"relu", "gelu"}),
     .help = "feed-forward activation",
     .profile = true, .on_resume = fixed, .key = "model.activation", .stored = model, .value = activation_value()},
    {.flag = "--precision", .option = &O::precision, .check = one_of({"f32", "bf16"}),
     .help = "f32, or bf16 mixed precision: linear and matmul take bfloat16 operands and accumulate in f32 "
             "(emulated, and slower, on CPUs without AVX-512 BF16)",
     .profile = true, .on_resume = fixed, .key = "train.precision", .stored = model, .value = precision_value(),
     .absent_means = "f32"},
    {.flag = "--batch", .option = &O::batch, .check = range(1, 1 << 20), .help = "sequences per batch",
     .profile = true, .on_resume = fixed, .key = "train.batch", .stored = model, .value = value(&RC::batch)},
    {.flag = "--seed", .option = &O::seed, .help = "seed for parameters, data and dropout",
     .profile = true, .on_resume = fixed, .key = "seed", .stored = by_checkpoint, .value = value(&RC::seed)},
    {.flag = "--threads", .option = &O::threads, .check = range(0, 1024),
     .help = "worker threads (0 = all cores)", .profile = true},
    // The run's length: free on resume, which continues to the new --steps.
    {.flag = "--steps", .option = &O::steps, .check = range(1, 1 << 30),
     .help = "optimizer steps (default: the task's)",
     .key = "train.steps", .stored = model, .value = value(&RC::steps)},
    {.flag = "--epochs", .option = &O::epochs, .check = range(1, 1 << 20),
     .help = "epochs of --steps-per-epoch steps", .excludes = "--steps"},
    {.flag = "--steps-per-epoch", .option = &O::steps_per_epoch, .check = range(1, 1 << 20),
     .help = "steps per epoch (default 20)"},
    // Learning-rate schedule and optimizer.
    {.flag = "--lr-schedule", .option = &O::lr_schedule, .check = one_of({"noam", "constant", "cosine", "inverse-sqrt"}),
     .help = "noam, constant, cosine or inverse-sqrt",
     .on_resume = fixed, .key = "train.lr_schedule", .stored = training, .value = value(&RC::lr_schedule)},
    {.flag = "--lr", .option = &O::lr, .check = range(0.0, 1e6),
     .help = "base learning rate (noam: its factor; default: the task's)",
     .on_resume = fixed, .key = "train.lr", .stored = training, .value = value(&RC::lr)},
    {.flag = "--warmup", .option = &O::warmup, .check = range(0, 1 << 30), .help = "warmup steps",
     .on_resume = fixed, .key = "train.warmup", .stored = training, .value = value(&RC::warmup)},
    {.flag = "--optimizer", .option = &O::optimizer, .check = one_of({"adam", "adamw", "sgd"}),
     .help = "adam, adamw or sgd",
     .on_resume = fixed, .key = "train.optimizer", .stored = training, .value = value(&RC::optimizer)},
    {.flag = "--beta1", .option = &O::beta1, .check = range(0.0, 0.999999), .help = "Adam beta1 (sgd: momentum)",
     .on_resume = fixed, .key = "train.beta1", .stored = training, .value = value(&RC::beta1)},
    {.flag = "--beta2", .option = &O::beta2, .check = range(0.0, 0.999999), .help = "Adam beta2",
     .on_resume = fixed, .key = "train.beta2", .stored = training, .value = value(&RC::beta2)},
    {.flag = "--eps", .option = &O::eps, .check = range(0.0, 1.0), .help = "Adam epsilon",
     .on_resume = fixed, .key = "train.eps", .stored = training, .value = value(&RC::eps)},
    {.flag = "--weight-decay", .option = &O::weight_decay, .check = range(0.0, 1.0),
     .help = "weight decay (default: 0.01 for adamw, as PyTorch; 0 otherwise)",
     .on_resume = fixed, .key = "train.weight_decay", .stored = training, .value = value(&RC::weight_decay)},
    {.flag = "--clip", .option = &O::clip, .check = range(0.0, 1e9),
     .help = "clip gradients to this global L2 norm (0 = off)",
     .on_resume = fixed, .key = "train.clip", .stored = training, .value = value(&RC::clip)},
    {.flag = "--accumulate", .option = &O::accumulate, .check = range(1, 1024),
     .help = "micro-batches per optimizer step",
     .on_resume = fixed, .key = "train.accumulate", .stored = training, .value = value(&RC::accumulate)},
    // How ranks share the work: same results, so free on resume and not in checkpoints.
    {.flag = "--shard-optimizer", .option = &O::shard_optimizer,
     .help = "under mpirun: each rank keeps the optimizer state (Adam's moments) of 1/N of the parameters only "
             "(ZeRO stage 1); the same results and checkpoints"},
    {.flag = "--bucket-mb", .option = &O::bucket_mb, .check = range(0.0, 1e6),
     .help = "under mpirun: overlap the gradient exchange with backward in buckets of M MiB (25 is PyTorch "
             "DDP's; default 0: exchange after backward, faster where a rank has no core to spare); the same results"},
    // What the run shows and writes: free on resume.
    {.flag = "--eval-every", .option = &O::eval_every, .check = range(0, 1 << 30),
     .help = "evaluate every N steps (0: every epoch)"},
    {.flag = "--check-numerics", .option = &O::check_numerics,
     .help = "stop at the first node producing NaN/Inf and name it"},
    {.flag = "--on-nonfinite", .option = &O::on_nonfinite, .check = one_of({"stop", "skip"}),
     .help = "a step whose loss is NaN or Inf: stop training (keeping the last finite checkpoint) or skip the step"},
    {.flag = "--quiet", .option = &O::quiet, .help = "no progress bar"},
    {.flag = "--save", .option = &O::save,
     .help = "write a checkpoint (safetensors) here at the end and after every evaluation"},
    {.flag = "--resume", .option = &O::resume, .check = existing_file(),
     .help = "continue from this checkpoint exactly, with its model, data, seed, optimizer and schedule "
             "(only --steps/--epochs and output flags may change)"},
    {.flag = "--metrics", .option = &O::metrics, .help = "append one JSON object per step/evaluation to this file"},
    {.flag = "--plot", .option = &O::plot, .help = "draw the training curves here at the end (.svg or .png)"},
    // The lm corpus, remembered by the checkpoint with its fingerprint.
    {.flag = "--data", .option = &O::data, .check = existing_file(),
     .help = "lm: the text to learn (default: /usr/share/common-licenses/GPL-3)",
     .on_resume = fixed, .key = "lm.data", .stored = data, .value = value(&RC::data)},
    // What no flag sets: what the task derives from the settings and its data.
    {.key = "model.src_vocab", .stored = model, .value = value(&TC::src_vocab)},
    {.key = "model.tgt_vocab", .stored = model, .value = value(&TC::tgt_vocab)},
    {.key = "train.schedule_steps", .stored = training, .value = value(&RC::schedule_steps)},
    {.key = "lm.alphabet_hex", .stored = model, .value = alphabet_value()},
    {.key = "lm.context", .stored = model, .value = value(&RC::context)},
    {.key = "lm.data_hash", .stored = data, .value = value(&RC::data_hash)},
  };
  return table;
}

const Setting* find_setting(const std::string& flag) {
  for (const Setting& s : train_settings())
    if (!flag.empty() && s.flag == flag) return &s;
  return nullptr;
}

}  // namespace attograd
