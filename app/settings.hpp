// Every setting of a training run in one table (app/settings.cpp): its flag
// and help for `attograd train` (and the model options `attograd profile`
// shares), where the command line's value goes, its checkpoint metadata key,
// and whether `--resume` may change it. The CLI11 flags (cli/cmd_train.cpp),
// the checkpoint metadata round trip (app/run_config.cpp) and the resume
// checks (app/resume.cpp) all read this table, so a setting is declared
// once: a TrainOptions field, a RunConfig field, a row, and a line of
// resolve_config when its default is not a plain value.
//
//   {.flag = "--lr", .option = &TrainOptions::lr, .check = range(0, 1e6),
//    .help = "base learning rate (noam: its factor; default: the task's)",
//    .on_resume = OnResume::fixed, .key = "train.lr", .stored = Stored::training,
//    .value = value(&RunConfig::lr)}
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace attograd {

// What the command line of `attograd train` gives. std::nullopt: the task's
// default (app/tasks/registry.hpp), filled in by resolve_config.
struct TrainOptions {
  std::string task = "copy";
  // Model.
  std::optional<std::int64_t> layers, d_model, heads, d_ff;
  std::optional<double> dropout, label_smoothing;
  std::optional<std::string> norm;  // "pre" | "post"
  std::string activation = "relu";
  std::string precision = "f32";  // "f32" or "bf16" (mixed precision: engine/precision.hpp)
  // Length, learning-rate schedule and optimizer.
  std::optional<std::int64_t> steps, epochs, batch;
  std::int64_t steps_per_epoch = 20;
  std::string lr_schedule = "noam";
  std::optional<double> lr;  // base rate multiplying the schedule (noam: its factor)
  std::optional<std::int64_t> warmup;
  std::string optimizer = "adam";
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-9;
  std::optional<double> weight_decay;  // default: the optimizer's (AdamW 0.01, as PyTorch; otherwise 0)
  double clip = 0;                     // global-norm clipping; 0 = off
  std::int64_t accumulate = 1;
  bool shard_optimizer = false;  // several ranks: each keeps the optimizer state of its shard (ZeRO stage 1)
  double bucket_mb = 0;          // several ranks: MiB per bucket of the exchange overlapped with backward; 0: after it
  // Run.
  std::uint64_t seed = 1;
  int threads = 0;
  std::int64_t eval_every = 0;  // 0: at the end of every epoch (copy) or 10 evaluations
  bool check_numerics = false;
  std::string on_nonfinite = "stop";  // a NaN/Inf loss: "stop" or "skip" the step (app/divergence_guard.hpp)
  bool quiet = false;
  std::string save, resume, metrics, plot;  // plot: .svg or .png of the curves at the end
  std::optional<std::string> data;          // lm: the text to train on (default: the GPL-3 text)
  std::set<std::string> given;              // the flags on the command line ("--lr", ...): --resume checks them
};

struct RunConfig;

// Whether `attograd train --resume CKPT` may change a setting.
enum class OnResume {
  fixed,  // changes what training computes: must agree with the checkpoint
  free,   // only extends the run or changes what is shown and written
};

// Which readers of a checkpoint need a setting's metadata entry.
enum class Stored {
  no,             // not in checkpoints
  model,          // every loader: it rebuilds the model (eval, decode, attention, sample)
  data,           // read when present (eval lm); resuming needs it
  training,       // resuming needs it
  by_checkpoint,  // the checkpoint's own entry (TrainingState): read on resume, not written by to_metadata
};

// Where a flag's value goes.
using OptionField =
    std::variant<std::monostate, bool TrainOptions::*, int TrainOptions::*, std::int64_t TrainOptions::*,
                 std::uint64_t TrainOptions::*, double TrainOptions::*, std::string TrainOptions::*,
                 std::optional<std::int64_t> TrainOptions::*, std::optional<double> TrainOptions::*,
                 std::optional<std::string> TrainOptions::*>;

// What the command line checks of a flag's value (CLI11 validators).
struct FlagCheck {
  std::optional<std::pair<double, double>> range;  // in the option's own type: "INT in [1 - 64]"
  std::vector<std::string> one_of;
  bool existing_file = false;
};
FlagCheck range(double min, double max);
FlagCheck one_of(std::vector<std::string> choices);
FlagCheck existing_file();

// How a RunConfig holds a setting: as text (checkpoint metadata, resume
// messages) and back. `read` returns false for text that is not a value.
struct SettingValue {
  std::function<std::string(const RunConfig&)> write;
  std::function<bool(RunConfig&, const std::string&)> read;
};

struct Setting {
  std::string flag;          // "--layers"; "" for what only checkpoints hold
  OptionField option;        // where the flag's value goes
  FlagCheck check;
  std::string help;
  bool profile = false;      // `attograd profile` has the flag too
  std::string excludes;      // a flag it cannot be given with
  OnResume on_resume = OnResume::free;
  std::string key;           // checkpoint metadata entry ("" with Stored::no)
  Stored stored = Stored::no;
  SettingValue value;        // the resolved value in RunConfig (stored and fixed settings)
  // Non-empty: what a missing metadata entry means. to_metadata leaves the
  // entry out when the value is this, so checkpoints written before the
  // setting existed stay valid and a default run writes the same bytes.
  std::string absent_means;
};

// Every setting, flags in the order `attograd train --help` lists them.
const std::vector<Setting>& train_settings();
// The row of `--flag`, or nullptr.
const Setting* find_setting(const std::string& flag);

}  // namespace attograd
