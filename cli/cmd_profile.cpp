// attograd profile TASK [--steps N] [--warmup-steps W] [--threads T] [--trace PATH] [--dot PATH] [model options]
//
// Runs warm-up steps, then profiles training steps of the task's model and
// prints where the time goes (per op, per scope), the memory peak and what
// is alive at it, and how well the steps ran in parallel.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "app/run_config.hpp"
#include "app/tasks/registry.hpp"
#include "app/trainee.hpp"
#include "app/trainer.hpp"
#include "profile/chrome_trace.hpp"
#include "profile/graph_dot.hpp"
#include "train/optimizer.hpp"
#include "profile/profile_report.hpp"
#include "profile/profiler.hpp"

namespace attograd {
namespace {

struct ProfileArgs {
  TrainOptions train;
  std::int64_t measured = 5, warmup = 2;
  std::string trace, dot;
  bool dot_backward = false;
  std::size_t trace_limit = 200000;
  int scope_depth = 4;
};

void run_profile(const ProfileArgs& a) {
  RunConfig config = resolve_config(a.train);
  config.steps = a.warmup + a.measured;
  if (config.lr_schedule == "cosine") config.schedule_steps = config.steps;
  auto trainee = make_trainee(config, a.train.threads);
  auto optimizer = optimizer_for(config);
  const LrSchedule schedule = lr_schedule_for(config);
  Profiler profiler;
  fmt::print(stderr, "profiling {}: {} warm-up and {} measured training steps, {} threads\n", config.task, a.warmup,
             a.measured, a.train.threads == 0 ? std::string("all") : std::to_string(a.train.threads));
  for (std::int64_t step = 1; step <= config.steps; ++step)
    train_step(*trainee, *optimizer, schedule, config, step, a.train.check_numerics, step > a.warmup ? &profiler : nullptr);

  const Profile p = profiler.profile();
  fmt::print("== time per op (forward and backward separately) ==\n{}\n", format_op_table(op_table(p)));
  fmt::print("== time per scope ==\n{}\n", format_scope_rollup(scope_rollup(p, ScopeOrder::by_time, a.scope_depth)));
  fmt::print("== memory ==\n{}\n", format_memory_report(memory_report(p)));
  fmt::print("== parallelism ==\n{}\n", format_parallelism_report(parallelism_report(p)));
  if (!a.trace.empty()) {
    const std::size_t n = write_chrome_trace(p, a.trace, {.max_events = a.trace_limit, .every_step = 1});
    fmt::print("trace: {} ({} events; open in https://ui.perfetto.dev or chrome://tracing)\n", a.trace, n);
  }
  if (!a.dot.empty() && !p.steps.empty()) {
    write_dot(*p.steps.back().graph, a.dot, {.profile = &p, .clusters = true, .backward_edges = a.dot_backward});
    fmt::print("graph: {} (render with: dot -Tsvg {} -o graph.svg)\n", a.dot, a.dot);
  }
}

}  // namespace

void add_profile_command(CLI::App& app) {
  auto a = std::make_shared<ProfileArgs>();
  CLI::App* cmd = app.add_subcommand("profile", "profile training steps: per-op and per-scope time, memory, parallelism");
  cmd->add_option("task", a->train.task, "task: copy, numbers or lm")->required()->check(CLI::IsMember(task_names()));
  for (const Setting& s : train_settings())
    if (s.profile) add_setting_flag(*cmd, s, a->train);
  cmd->add_option("--steps", a->measured, "measured training steps")->check(CLI::Range(1, 10000));
  cmd->add_option("--warmup-steps", a->warmup, "unmeasured steps first")->check(CLI::Range(0, 10000));
  cmd->add_option("--trace", a->trace, "write a Chrome trace (JSON) of the measured steps");
  cmd->add_option("--trace-limit", a->trace_limit, "most events in the trace")->check(CLI::Range(1, 100000000));
  cmd->add_option("--dot", a->dot, "write the training graph as Graphviz DOT, coloured by measured time");
  cmd->add_flag("--dot-backward", a->dot_backward, "also draw the backward edges in the DOT file");
  cmd->add_option("--scope-depth", a->scope_depth, "deepest scope level in the roll-up (0 = all)")->check(CLI::Range(0, 64));
  add_setting_flag(*cmd, *find_setting("--check-numerics"), a->train);
  cmd->callback([a] { run_profile(*a); });
}

}  // namespace attograd
