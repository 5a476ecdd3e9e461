#include "app/trainer.hpp"

#include <chrono>
#include <cstdio>
#include <cmath>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/distributed.hpp"
#include "app/checkpoint_check.hpp"
#include "app/divergence_guard.hpp"
#include "app/output_paths.hpp"
#include "app/progress.hpp"
#include "app/resume.hpp"
#include "app/run_config.hpp"
#include "app/trainee.hpp"
#include "dist/data_parallel.hpp"
#include "dist/guard.hpp"
#include "io/file_lock.hpp"
#include "train/checkpoint.hpp"
#include "engine/error.hpp"
#include "train/optimizer.hpp"
#include "train/optimizer_state.hpp"
#include "profile/profiler.hpp"
#include "train/lr_schedule.hpp"
#include "viz/curves.hpp"
#include "viz/output.hpp"

namespace attograd {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void save(const std::string& path, Trainee& t, const RunConfig& c, const Optimizer& opt, const LrSchedule& s,
          std::int64_t step) {
  TrainingState st;
  st.step = step;
  st.seed = c.seed;
  st.optimizer = opt.name();
  st.optimizer_hyperparameters = opt.hyperparameters();
  st.schedule = schedule_name(s);
  st.schedule_parameters = schedule_parameters(s);
  st.extra = to_metadata(c);
  save_checkpoint(path, t.parameters(), st);
}

}  // namespace

std::unique_ptr<Optimizer> optimizer_for(const RunConfig& c) {
  if (c.optimizer == "sgd") return make_optimizer("sgd", {{"momentum", c.beta1}, {"weight_decay", c.weight_decay}});
  return make_optimizer(c.optimizer, {{"beta1", c.beta1}, {"beta2", c.beta2}, {"eps", c.eps}, {"weight_decay", c.weight_decay}});
}

LrSchedule lr_schedule_for(const RunConfig& c) {
  if (c.lr_schedule == "noam")
    return make_schedule("noam", {{"factor", c.lr}, {"d_model", static_cast<double>(c.model.d_model)},
                                  {"warmup", static_cast<double>(std::max<std::int64_t>(c.warmup, 1))}});
  if (c.lr_schedule == "cosine")
    return make_schedule("cosine", {{"lr", c.lr}, {"warmup", static_cast<double>(c.warmup)},
                                    {"total", static_cast<double>(c.schedule_steps)}});
  if (c.lr_schedule == "inverse-sqrt")
    return make_schedule("inverse-sqrt", {{"lr", c.lr}, {"warmup", static_cast<double>(std::max<std::int64_t>(c.warmup, 1))}});
  return make_schedule(c.lr_schedule, {{"lr", c.lr}});
}

RunOptions micro_batch_options(const RunConfig& config, std::int64_t step, std::int64_t k) {
  RunOptions run;
  run.training = true;
  run.seed = config.seed;
  run.step = static_cast<std::uint64_t>((step - 1) * config.accumulate + k);  // data and dropout masks per micro-batch
  run.precision = config.precision;
  return run;
}

StepResult train_step(Trainee& trainee, Optimizer& optimizer, const LrSchedule& schedule, const RunConfig& config,
                      std::int64_t step, bool check_numerics, Profiler* profiler, DataParallel* parallel) {
  const auto start = Clock::now();
  ParameterStore& params = trainee.parameters();
  SingleProcess one;
  DataParallel single(one, params);
  DataParallel& dp = parallel != nullptr ? *parallel : single;
  dp.begin_step(config.accumulate);
  for (const std::int64_t k : dp.micro_batches()) {
    RunOptions run = micro_batch_options(config, step, k);
    run.check_numerics = check_numerics;
    run.observer = dp.gradient_observer(profiler);  // starts the exchange of final gradients during backward
    dp.run(k, [&] {
      const auto [loss, tokens] = trainee.train_batch(run.step, run);
      return MicroBatchResult{loss, tokens};
    });
  }
  const StepTotals totals = dp.end_step();  // the grads hold every micro-batch's sum, in k order
  StepResult r;
  r.loss = totals.loss;
  r.tokens = totals.tokens;
  r.lr = learning_rate(schedule, step);
  if (!std::isfinite(r.loss)) {  // a NaN/Inf update would poison every parameter
    optimizer.set_step_count(step);
    r.skipped = true;
    return r;
  }
  {
    std::optional<Profiler::Span> span;
    if (profiler) span.emplace(profiler->span("optimizer.step"));
    const double mean = config.accumulate > 1 ? 1.0 / static_cast<double>(config.accumulate) : 1.0;
    dp.update(optimizer, {.lr = r.lr, .grad_scale = mean, .clip = config.clip});
  }
  r.tokens_per_s = static_cast<double>(r.tokens) / std::max(1e-9, seconds_since(start));
  return r;
}

namespace {

// The configuration of the run; when resuming, the checkpoint's (app/resume.hpp).
RunConfig run_config(const TrainOptions& options) {
  if (!options.resume.empty()) check_checkpoint(options.resume);  // before anything is built from it
  const RunConfig config = resolve_config(options);
  return options.resume.empty() ? config : resumed_config(options, config);
}

// The curves of this run (with --metrics: of the whole file, so a resumed
// run's plot shows the steps before the resume too).
void draw_curves(const TrainOptions& options, const MetricsWriter& metrics) {
  MetricsRun run;
  if (!options.metrics.empty()) {
    run = read_metrics(options.metrics);
  } else {
    std::istringstream lines(metrics.kept());
    run = parse_metrics(lines, options.task, "the run's metrics");
  }
  save_drawing(plot_curves({run}), options.plot);
  fmt::print("curves: {}\n", options.plot);
}

void print_summary(const TrainSummary& s, const TrainOptions& options) {
  fmt::print("trained {} steps in {:.1f} s ({:.3f} s/step)\n", s.steps, s.seconds,
             s.seconds / static_cast<double>(std::max<std::int64_t>(s.steps, 1)));
  fmt::print("final training loss {:.4f}; evaluation loss {:.4f} per token, accuracy {:.2f}%\n", s.final_train_loss,
             s.eval.loss, 100 * s.eval.accuracy);
  if (s.exact_match) fmt::print("exact match (greedy decoding of held-out examples) {:.1f}%\n", 100 * *s.exact_match);
  const Demonstration& d = s.demonstration;
  fmt::print("{} {}\n{} {}\n", d.input_label, d.input, d.output_label, d.output);
  if (s.skipped_steps > 0) fmt::print("skipped {} step(s) whose loss was NaN or Inf\n", s.skipped_steps);
  if (!options.save.empty()) fmt::print("checkpoint: {}\n", options.save);
}

// What training needs before its first step, built on every rank.
struct Setup {
  RunConfig config;
  std::unique_ptr<Trainee> trainee;
  std::unique_ptr<Optimizer> optimizer;
  std::int64_t start_step = 0;
};

Setup set_up(const TrainOptions& options, bool root) {
  Setup s;
  s.config = run_config(options);
  s.trainee = make_trainee(s.config, options.threads);
  s.optimizer = optimizer_for(s.config);
  const RunConfig& config = s.config;
  if (!options.resume.empty()) {
    TrainingState resumed;
    load_checkpoint(options.resume, s.trainee->parameters(), resumed);
    check_optimizer_state(s.trainee->parameters(), *s.optimizer, resumed.step, options.resume);
    s.start_step = resumed.step;
    s.optimizer->set_step_count(resumed.step);
    if (root && config.lr_schedule == "cosine" && config.steps > config.schedule_steps)
      fmt::print(stderr, "note: the checkpoint's cosine schedule ends at step {}; steps {}..{} use its final rate\n",
                 config.schedule_steps, config.schedule_steps + 1, config.steps);
  }
  if (s.start_step >= config.steps)
    throw Error(fmt::format("[train] the checkpoint is at step {}, and --steps is {}: nothing to do", s.start_step, config.steps));
  return s;
}

}  // namespace

// On several ranks (app/distributed.hpp) every rank trains; rank 0 alone
// checks and writes the outputs, evaluates and prints, inside run_on_root so
// that its errors reach the other ranks.
TrainSummary train(const TrainOptions& all_ranks_options, Communicator& comm) {
  const bool root = comm.rank() == 0;
  const TrainOptions options = options_for_rank(all_ranks_options, comm.rank());
  std::optional<FileLock> save_lock;  // held for the whole run: no other trainer saves to this path
  run_on_root(comm, [&] {
    if (!options.plot.empty()) check_drawing_path(options.plot);  // fail before the work, not after
    if (!options.plot.empty()) check_output_path("--plot", options.plot);
    if (!options.save.empty()) check_output_path("--save", options.save);
    if (!options.save.empty()) save_lock.emplace(options.save);
  });
  Setup setup;
  run_on_all(comm, [&] { setup = set_up(options, root); });
  const RunConfig& config = setup.config;
  Trainee* trainee = setup.trainee.get();
  Optimizer* optimizer = setup.optimizer.get();
  const std::int64_t start_step = setup.start_step;
  const LrSchedule schedule = lr_schedule_for(config);
  DataParallel dp(comm, trainee->parameters(),
                  {.shard_optimizer = options.shard_optimizer,
                   .bucket_bytes = static_cast<std::int64_t>(options.bucket_mb * (1 << 20))});
  check_ranks_agree(dp, config, options, start_step);
  dp.shard_optimizer_state();  // a resumed state: each rank keeps its shard from here on

  MetricsWriter metrics;
  run_on_root(comm, [&] {
    const std::optional<std::int64_t> resumed_at = options.resume.empty() ? std::nullopt : std::optional(start_step);
    if (const std::size_t dropped = metrics.open(options.metrics, resumed_at))
      fmt::print(stderr, "note: dropped {} record(s) of steps after {} from '{}': this run repeats those steps\n", dropped,
                 start_step, options.metrics);
    if (!options.plot.empty() && options.metrics.empty()) metrics.keep_lines();
    if (comm.size() > 1 && options.bucket_mb > 0 && !dp.overlaps())
      fmt::print(stderr, "note: MPI was not initialized with MPI_THREAD_SERIALIZED: the gradient exchange follows "
                         "backward instead of overlapping it\n");
    fmt::print(stderr, "attograd train {}: {} parameters, {} layers, D={}, H={}, F={}, batch {}, steps {}..{}{}\n",
               config.task, trainee->parameters().numel(), config.model.layers, config.model.d_model,
               config.model.heads, config.model.d_ff, config.batch, start_step + 1, config.steps,
               comm.size() == 1 ? "" : ", " + comm.describe());
  });

  TrainSummary summary;
  DivergenceGuard guard(options.on_nonfinite, options.save);
  ProgressBar bar("train " + config.task, config.steps, options.quiet);
  const auto run_start = Clock::now();
  for (std::int64_t step = start_step + 1; step <= config.steps; ++step) {
    const StepResult r = train_step(*trainee, *optimizer, schedule, config, step, options.check_numerics, nullptr, &dp);
    bool skipped = false;  // the same on every rank: r.loss is the job's
    run_unanimous(comm, [&] { skipped = guard.after_step(step, r.loss); });
    const bool evaluates = step % config.eval_every == 0 || step == config.steps;  // the same on every rank
    run_on_root(comm, [&] {
      if (skipped) {
        metrics.write(nlohmann::json{{"step", step}, {"skipped", "the loss was NaN or Inf"}, {"lr", r.lr}}.dump());
      } else {
        summary.final_train_loss = r.loss;
        metrics.write(nlohmann::json{{"step", step}, {"loss", r.loss}, {"lr", r.lr}, {"tokens_per_s", r.tokens_per_s}}.dump());
      }
      bar.update(step, fmt::format("loss {:.4f}  lr {:.2e}  {:.0f} tok/s", r.loss, r.lr, r.tokens_per_s));
      if (!evaluates) return;
      summary.eval = trainee->evaluate();
      guard.after_evaluation(step, summary.eval.loss);
      nlohmann::json record{{"step", step}, {"eval_loss", summary.eval.loss}, {"accuracy", summary.eval.accuracy}};
      if (step == config.steps && (summary.exact_match = trainee->exact_match())) record["exact_match"] = *summary.exact_match;
      metrics.write(record.dump());
    });
    if (!evaluates || !root_decides(comm, !options.save.empty())) continue;  // only rank 0 has --save
    // Gathered after the evaluation, so rank 0 holds the whole optimizer state only while it saves.
    dp.gather_optimizer_state(*optimizer);
    run_on_root(comm, [&] {
      guard.before_save(trainee->parameters(), step);
      save(options.save, *trainee, config, *optimizer, schedule, step);
      guard.saved(step);
    });
    dp.shard_optimizer_state();  // rank 0's gathered state is saved: back to 1/N
  }
  run_on_root(comm, [&] {
    bar.finish();
    summary.seconds = seconds_since(run_start);
    summary.steps = config.steps - start_step;
    summary.skipped_steps = guard.skipped();
    summary.demonstration = trainee->demonstrate();
    print_summary(summary, options);
    if (!options.plot.empty()) draw_curves(options, metrics);
  });
  return summary;
}

TrainSummary train(const TrainOptions& options) {
  const auto comm = make_communicator();  // MPI under mpirun / srun, else one process
  TrainSummary summary;
  run_job(*comm, [&] { summary = train(options, *comm); });
  return summary;
}

}  // namespace attograd
