#include "app/trainer.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/checkpoint_check.hpp"
#include "app/divergence_guard.hpp"
#include "app/progress.hpp"
#include "app/resume.hpp"
#include "app/run_config.hpp"
#include "app/trainee.hpp"
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

LrSchedule schedule_for(const RunConfig& c) {
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

StepResult train_step(Trainee& trainee, Optimizer& optimizer, const RunConfig& config, std::int64_t step,
                      bool check_numerics, Profiler* profiler) {
  const auto start = Clock::now();
  ParameterStore& params = trainee.parameters();
  params.zero_grad();
  StepResult r;
  for (std::int64_t k = 0; k < config.accumulate; ++k) {
    const auto index = static_cast<std::uint64_t>((step - 1) * config.accumulate + k);
    RunOptions run;
    run.training = true;
    run.seed = config.seed;
    run.step = index;  // dropout masks differ per micro-batch
    run.check_numerics = check_numerics;
    run.observer = profiler;
    const auto [loss, tokens] = trainee.train_batch(index, run);
    r.loss += loss / static_cast<double>(config.accumulate);
    r.tokens += tokens;
  }
  r.lr = learning_rate(schedule_for(config), step);
  if (!std::isfinite(r.loss)) {  // a NaN/Inf update would poison every parameter
    optimizer.set_step_count(step);
    r.skipped = true;
    return r;
  }
  {
    std::optional<Profiler::Span> span;
    if (profiler) span.emplace(profiler->span("optimizer.step"));
    if (config.accumulate > 1) scale_grads(params, 1.0 / static_cast<double>(config.accumulate));
    if (config.clip > 0) clip_grad_norm(params, config.clip);
    optimizer.step(params, r.lr);
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

// --save is written after the first evaluation: check its directory before training.
void check_save_path(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(fmt::format("[train] --save '{}': the directory '{}' does not exist", path, dir.string()));
  if (fs::is_directory(path, ec)) throw Error(fmt::format("[train] --save '{}' is a directory, not a file", path));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(fmt::format("[train] --save '{}': the directory '{}' is not writable", path, dir.string()));
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

void print_summary(const TrainSummary& s, const RunConfig& config, const TrainOptions& options) {
  const bool lm = config.task == "lm";
  fmt::print("trained {} steps in {:.1f} s ({:.3f} s/step)\n", s.steps, s.seconds,
             s.seconds / static_cast<double>(std::max<std::int64_t>(s.steps, 1)));
  fmt::print("final training loss {:.4f}; evaluation loss {:.4f} per token, accuracy {:.2f}%\n", s.final_train_loss,
             s.eval.loss, 100 * s.eval.accuracy);
  if (s.exact_match) fmt::print("exact match (greedy decoding of held-out examples) {:.1f}%\n", 100 * *s.exact_match);
  fmt::print("{} {}\n{} {}\n", lm ? "prompt: " : "input:  ", s.decoded_input, lm ? "sample: " : "output: ", s.decoded_output);
  if (s.skipped_steps > 0) fmt::print("skipped {} step(s) whose loss was NaN or Inf\n", s.skipped_steps);
  if (!options.save.empty()) fmt::print("checkpoint: {}\n", options.save);
}

}  // namespace

TrainSummary train(const TrainOptions& options) {
  if (!options.plot.empty()) check_drawing_path(options.plot);  // fail before the work, not after
  if (!options.save.empty()) check_save_path(options.save);
  RunConfig config = run_config(options);
  auto trainee = make_trainee(config, options.threads);
  auto optimizer = optimizer_for(config);
  const LrSchedule schedule = schedule_for(config);
  std::int64_t start_step = 0;
  if (!options.resume.empty()) {
    TrainingState resumed;
    load_checkpoint(options.resume, trainee->parameters(), resumed);
    check_optimizer_state(trainee->parameters(), *optimizer, resumed.step, options.resume);
    start_step = resumed.step;
    optimizer->set_step_count(resumed.step);
    if (config.lr_schedule == "cosine" && config.steps > config.schedule_steps)
      fmt::print(stderr, "note: the checkpoint's cosine schedule ends at step {}; steps {}..{} use its final rate\n",
                 config.schedule_steps, config.schedule_steps + 1, config.steps);
  }
  if (start_step >= config.steps)
    throw Error(fmt::format("[train] the checkpoint is at step {}, and --steps is {}: nothing to do", start_step, config.steps));

  MetricsWriter metrics;
  metrics.open(options.metrics, !options.resume.empty());
  if (!options.plot.empty() && options.metrics.empty()) metrics.keep_lines();
  fmt::print(stderr, "attograd train {}: {} parameters, {} layers, D={}, H={}, F={}, batch {}, steps {}..{}\n",
             config.task, trainee->parameters().numel(), config.model.layers, config.model.d_model, config.model.heads,
             config.model.d_ff, config.batch, start_step + 1, config.steps);

  TrainSummary summary;
  DivergenceGuard guard(options.on_nonfinite, options.save);
  ProgressBar bar("train " + config.task, config.steps, options.quiet);
  const auto run_start = Clock::now();
  for (std::int64_t step = start_step + 1; step <= config.steps; ++step) {
    const StepResult r = train_step(*trainee, *optimizer, config, step, options.check_numerics);
    if (guard.after_step(step, r.loss)) {
      metrics.write(nlohmann::json{{"step", step}, {"skipped", "the loss was NaN or Inf"}, {"lr", r.lr}}.dump());
    } else {
      summary.final_train_loss = r.loss;
      metrics.write(nlohmann::json{{"step", step}, {"loss", r.loss}, {"lr", r.lr}, {"tokens_per_s", r.tokens_per_s}}.dump());
    }
    bar.update(step, fmt::format("loss {:.4f}  lr {:.2e}  {:.0f} tok/s", r.loss, r.lr, r.tokens_per_s));
    if (step % config.eval_every != 0 && step != config.steps) continue;
    summary.eval = trainee->evaluate();
    guard.after_evaluation(step, summary.eval.loss);
    nlohmann::json record{{"step", step}, {"eval_loss", summary.eval.loss}, {"accuracy", summary.eval.accuracy}};
    if (step == config.steps && (summary.exact_match = trainee->exact_match())) record["exact_match"] = *summary.exact_match;
    metrics.write(record.dump());
    if (!options.save.empty()) {
      guard.before_save(trainee->parameters(), step);
      save(options.save, *trainee, config, *optimizer, schedule, step);
      guard.saved(step);
    }
  }
  bar.finish();
  summary.seconds = seconds_since(run_start);
  summary.steps = config.steps - start_step;
  summary.skipped_steps = guard.skipped();
  std::tie(summary.decoded_input, summary.decoded_output) = trainee->demonstrate();
  print_summary(summary, config, options);
  if (!options.plot.empty()) draw_curves(options, metrics);
  return summary;
}

}  // namespace attograd
