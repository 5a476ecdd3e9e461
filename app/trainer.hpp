// The training loop behind `attograd train`: batches from a task, forward +
// backward on the TBB executor, gradient clipping and accumulation, an
// optimizer and a learning-rate schedule, metrics, checkpoints, progress.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "app/seq2seq.hpp"

namespace attograd {

struct TrainOptions {
  std::string task = "copy";
  // Model (defaults come from the task).
  std::int64_t layers = -1, d_model = -1, heads = -1, d_ff = -1;
  double dropout = -1, label_smoothing = -1;
  std::string norm;        // "pre" | "post" ("" = the task's)
  std::string activation = "relu";
  // LrSchedule and optimizer.
  std::int64_t steps = -1, epochs = -1, steps_per_epoch = 20, batch = -1;
  std::string lr_schedule = "noam";
  double lr = -1;          // base rate multiplying the schedule (-1: the task's)
  std::int64_t warmup = -1;
  std::string optimizer = "adam";
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-9;
  double weight_decay = -1;  // < 0: the optimizer's default (AdamW 0.01, as PyTorch; otherwise 0)
  double clip = 0;         // global-norm clipping; 0 = off
  std::int64_t accumulate = 1;
  // Run.
  std::uint64_t seed = 1;
  int threads = 0;
  std::int64_t eval_every = 0;  // 0: at the end of every epoch (or 10 evaluations)
  bool check_numerics = false;
  std::string on_nonfinite = "stop";  // a NaN/Inf loss: "stop" or "skip" the step (app/divergence_guard.hpp)
  bool quiet = false;
  std::string save, resume, metrics, plot;  // plot: .svg or .png of the curves at the end
  std::string data;        // lm: the text to train on (default: the GPL-3 text)
  std::set<std::string> given;  // the flags on the command line ("--lr", ...): --resume checks them
};

struct TrainSummary {
  double final_train_loss = 0;
  EvalResult eval;
  std::optional<double> exact_match;  // sequence tasks: greedy decoding exactly right, held-out examples
  std::string decoded_input, decoded_output;
  double seconds = 0;
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;  // steps whose loss was not finite (on_nonfinite = "skip")
};

// Runs the whole training described by `options`, printing progress to
// stderr and a summary to stdout.
TrainSummary train(const TrainOptions& options);

struct RunConfig;
class Trainee;
class Optimizer;
class ExecutionObserver;
class Profiler;

struct StepResult {
  double loss = 0, lr = 0, tokens_per_s = 0;
  std::int64_t tokens = 0;
  bool skipped = false;  // the loss was NaN or Inf: no update was applied
};

// The optimizer the configuration names, with its hyperparameters (sgd: beta1 is the momentum).
std::unique_ptr<Optimizer> optimizer_for(const RunConfig& config);

// One optimizer step `step` (counted from 1): zero_grad, `accumulate`
// micro-batches forward + backward, clipping, the update (none when the loss
// is not finite: the optimizer only counts the step). With a profiler,
// its runs are observed and the update is recorded as "optimizer.step".
StepResult train_step(Trainee& trainee, Optimizer& optimizer, const RunConfig& config, std::int64_t step,
                      bool check_numerics, Profiler* profiler = nullptr);

}  // namespace attograd
