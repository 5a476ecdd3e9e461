// The training loop behind `attograd train`: batches from a task, forward +
// backward on the TBB executor, gradient clipping and accumulation, an
// optimizer and a learning-rate schedule, metrics, checkpoints, progress.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "app/seq2seq.hpp"
#include "app/settings.hpp"
#include "app/trainee.hpp"
#include "train/lr_schedule.hpp"

namespace attograd {

struct TrainSummary {
  double final_train_loss = 0;
  EvalResult eval;
  std::optional<double> exact_match;  // sequence tasks: greedy decoding exactly right, held-out examples
  Demonstration demonstration;
  double seconds = 0;
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;  // steps whose loss was not finite (on_nonfinite = "skip")
};

// Runs the whole training described by `options`, printing progress to
// stderr and a summary to stdout. Under an MPI launcher (mpirun -np N,
// srun --mpi=pmix) the N processes train together, data-parallel, to the
// bits of one process (dist/data_parallel.hpp); rank 0 prints and writes.
TrainSummary train(const TrainOptions& options);

class Communicator;
// The same on the ranks of `comm` (each rank calls it).
TrainSummary train(const TrainOptions& options, Communicator& comm);

class DataParallel;
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
// The learning-rate schedule the configuration names (built once per run).
LrSchedule lr_schedule_for(const RunConfig& config);

// The run of micro-batch k of step `step` (from 1): training, the run's
// seed, and RunOptions::step = (step - 1) * accumulate + k, the index that
// picks its data batch (Trainee::train_batch) and keys its dropout masks.
RunOptions micro_batch_options(const RunConfig& config, std::int64_t step, std::int64_t k);

// One optimizer step `step` (counted from 1): zero_grad, `accumulate`
// micro-batches forward + backward, clipping, the update at the schedule's
// rate for `step` (none when the loss is not finite: the optimizer only
// counts the step). With a profiler, its runs are observed and the update is
// recorded as "optimizer.step". With `parallel` (dist/data_parallel.hpp),
// this rank runs its share of the micro-batches and the step's gradient,
// loss and tokens are the whole job's: the same bits as one process.
StepResult train_step(Trainee& trainee, Optimizer& optimizer, const LrSchedule& schedule, const RunConfig& config,
                      std::int64_t step, bool check_numerics, Profiler* profiler = nullptr,
                      DataParallel* parallel = nullptr);

}  // namespace attograd
