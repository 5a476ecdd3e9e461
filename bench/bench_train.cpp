// attograd_bench: the benchmark of issue 6. This file holds the program's
// entry point and the training mode: the encoder-decoder Transformer of a
// configuration (app/seq2seq.hpp, the model `attograd train` trains) fed
// random tokens, stepped by Adam, each step timed from zero_grad to the end
// of the update. README.md "Benchmarks" says what the report shows.
#include <tbb/global_control.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/bench_modes.hpp"
#include "app/seq2seq.hpp"
#include "engine/error.hpp"
#include "train/optimizer.hpp"
#include "profile/profile_report.hpp"
#include "profile/profiler.hpp"

namespace attograd::bench {
namespace {

constexpr double kLearningRate = 1e-4;  // constant: the schedule costs nothing either way

// Uniform random ids in 1..V-1 (0 is pad): S source tokens, and a target of
// bos followed by T tokens, so teacher forcing predicts T non-pad tokens.
class RandomTokensTask final : public Seq2SeqTask {
 public:
  explicit RandomTokensTask(const BenchConfig& c) : c_(c) {}
  std::string name() const override { return "random"; }
  std::string summary() const override { return "random tokens"; }
  std::int64_t src_vocab() const override { return c_.vocab; }
  std::int64_t tgt_vocab() const override { return c_.vocab; }
  std::int32_t bos() const override { return 1; }
  Example sample(std::mt19937_64& rng) const override {
    std::uniform_int_distribution<std::int32_t> token(1, std::int32_t(c_.vocab - 1));
    Example e{TokenIds(std::size_t(c_.src_len)), TokenIds(std::size_t(c_.tgt_len + 1))};
    for (auto& t : e.src) t = token(rng);
    for (auto& t : e.tgt) t = token(rng);
    e.tgt[0] = bos();
    return e;
  }
  std::int64_t max_target_length(const TokenIds&) const override { return c_.tgt_len; }
  TokenIds encode_source(const std::string&) const override { throw Error("[bench] random tokens have no text"); }
  TokenIds encode_target(const std::string&) const override { throw Error("[bench] random tokens have no text"); }
  std::string decode_target(const TokenIds& ids) const override { return fmt::format("{}", fmt::join(ids, " ")); }
  std::string token_text(std::int32_t id, Side) const override { return std::to_string(id); }
  TaskDefaults defaults() const override { return {}; }

 private:
  BenchConfig c_;
};

// A model of configuration `c` with its data and optimizer.
struct Trainer {
  std::unique_ptr<Seq2SeqTask> task;
  std::unique_ptr<Seq2SeqModel> model;
  std::unique_ptr<Optimizer> adam;
  std::uint64_t seed;
  Precision precision = Precision::f32;

  Trainer(const BenchConfig& c, std::uint64_t s, int threads, Precision p = Precision::f32)
      : task(c.copy_task ? make_task("copy") : std::make_unique<RandomTokensTask>(c)),
        model(std::make_unique<Seq2SeqModel>(*task, transformer_config(c), s, threads, c.label_smoothing)),
        adam(make_optimizer("adam", {{"beta1", 0.9}, {"beta2", 0.98}, {"eps", 1e-9}})),
        seed(s), precision(p) {}

  // One training step; returns its loss.
  double step(const Batch& batch, std::uint64_t index, ExecutionObserver* observer = nullptr) {
    model->parameters().zero_grad();
    RunOptions run;
    run.training = true;
    run.seed = seed;
    run.step = index;
    run.observer = observer;
    run.precision = precision;
    const double loss = model->train_step(batch, run);
    adam->step(model->parameters(), kLearningRate);
    return loss;
  }
};

nlohmann::json config_json(const BenchConfig& c) {
  return {{"layers", c.layers}, {"d_model", c.d_model}, {"heads", c.heads},  {"d_ff", c.d_ff},
          {"vocab", c.vocab},   {"src_len", c.src_len}, {"tgt_len", c.tgt_len}, {"batch", c.batch},
          {"norm", c.pre_norm ? "pre" : "post"}, {"label_smoothing", c.label_smoothing}, {"dropout", c.dropout}};
}

double total_flops(const std::vector<GemmCall>& calls) {
  double f = 0;
  for (const GemmCall& g : calls) f += g.gemm.flops();
  return f;
}

}  // namespace

nlohmann::json stats_json(const std::vector<double>& seconds) {
  const Stats s = stats(seconds);
  return {{"median_s", s.median}, {"min_s", s.min}, {"max_s", s.max}};
}

std::vector<GemmCall> config_gemms(const BenchConfig& c, std::uint64_t seed) {
  Trainer t(c, seed, 1);
  Profiler profiler;
  t.step(sample_batch(*t.task, seed, 0, c.batch), 0, &profiler);
  return training_gemms(*profiler.profile().steps.front().graph);
}

nlohmann::json run_train(const ModeArgs& a) {
  const BenchConfig& c = find_config(a.config);
  Trainer t(c, a.seed, a.threads, precision_from_name(a.precision).value());
  std::vector<Batch> batches;
  for (std::int64_t i = 0; i < a.warmup_steps + a.steps; ++i)
    batches.push_back(sample_batch(*t.task, a.seed, std::uint64_t(i), c.batch));
  const double rss_before = current_rss_mib();

  // The first warm-up step is observed, to read the graph it ran.
  Profiler profiler;
  const double first_loss = t.step(batches[0], 0, &profiler);
  const Graph& graph = *profiler.profile().steps.front().graph;
  const double flops = total_flops(training_gemms(graph));
  std::vector<double> times, cpu_times;
  double loss = first_loss;
  for (std::int64_t i = 1; i < a.warmup_steps + a.steps; ++i) {
    const auto start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    loss = t.step(batches[std::size_t(i)], std::uint64_t(i));
    if (i < a.warmup_steps) continue;
    times.push_back(seconds_since(start));
    cpu_times.push_back(process_cpu_seconds() - cpu_start);
  }
  const Stats s = stats(times);
  const std::int64_t tokens = batches.back().target_tokens;
  return {{"mode", "train"},
          {"engine", "attograd"},
          {"config", c.name},
          {"model", config_json(c)},
          {"threads", a.threads},
          {"precision", a.precision},
          {"warmup_steps", a.warmup_steps},
          {"steps", a.steps},
          {"step_times_s", times},
          {"median_s", s.median},
          {"min_s", s.min},
          {"max_s", s.max},
          {"cpu_times_s", cpu_times},
          {"median_cpu_s", stats(cpu_times).median},
          {"target_tokens_per_step", tokens},
          {"tokens_per_s", double(tokens) / s.median},
          {"peak_rss_mib", peak_rss_mib()},
          {"rss_before_training_mib", rss_before},
          {"engine_peak_mib", double(t.model->executor().peak_bytes()) / (1 << 20)},
          {"parameters", t.model->parameters().numel()},
          {"matmul_flops_per_step", flops},
          {"matmul_flops_op_cost", matmul_cost_flops(graph)},
          {"gflops", flops / s.median * 1e-9},
          {"first_loss", first_loss},
          {"last_loss", loss}};
}

// --profile: the engine's profiler over the timed steps of a configuration,
// as the text tables `attograd profile` prints (the optimizer update is not
// a graph node and is not in them).
void print_profile(const ModeArgs& a) {
  const BenchConfig& c = find_config(a.config);
  Trainer t(c, a.seed, a.threads);
  Profiler profiler;
  for (std::int64_t i = 0; i < a.warmup_steps + a.steps; ++i)
    t.step(sample_batch(*t.task, a.seed, std::uint64_t(i), c.batch), std::uint64_t(i),
           i >= a.warmup_steps ? &profiler : nullptr);
  const Profile p = profiler.profile();
  fmt::print("profile of {}: {} steps after {} warm-up, {} thread(s)\n\n", c.name, a.steps, a.warmup_steps, a.threads);
  fmt::print("== time per op (forward and backward separately) ==\n{}\n", format_op_table(op_table(p)));
  fmt::print("== time per scope ==\n{}\n", format_scope_rollup(scope_rollup(p, ScopeOrder::by_time, 3)));
  fmt::print("== parallelism ==\n{}\n", format_parallelism_report(parallelism_report(p)));
}

}  // namespace attograd::bench

int main(int argc, char** argv) {
  using namespace attograd::bench;
  ModeArgs a;
  bool sgemm = false, ops = false, overhead = false, peak = false, profile = false;
  CLI::App app("attograd_bench: training throughput, GEMM rates, op timings and engine overhead as JSON");
  app.add_option("--config", a.config, "tiny, small, base or copy")->check(CLI::IsMember(config_names()));
  app.add_option("--threads", a.threads, "cores to use (TBB's global limit)")->check(CLI::Range(1, 256));
  app.add_option("--warmup-steps", a.warmup_steps, "untimed training steps first")->check(CLI::Range(1, 100000));
  app.add_option("--steps", a.steps, "timed training steps")->check(CLI::Range(1, 100000));
  app.add_option("--seed", a.seed, "parameters and data");
  app.add_option("--min-time", a.min_seconds, "sgemm/ops/peak: seconds of timing per item")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--reps", a.reps, "ops/overhead: repetitions")->check(CLI::Range(1, 100000));
  app.add_option("--nodes", a.nodes, "overhead: nodes in the graph")->check(CLI::Range(2, 10000000));
  app.add_option("--precision", a.precision, "train: f32, or bf16 mixed precision")->check(CLI::IsMember({"f32", "bf16"}));
  auto* m1 = app.add_flag("--sgemm", sgemm, "cblas_sgemm rates on the config's GEMM shapes");
  auto* m2 = app.add_flag("--ops", ops, "single ops against sgemm and memcpy");
  auto* m3 = app.add_flag("--overhead", overhead, "engine overhead per node");
  auto* m4 = app.add_flag("--peak", peak, "the cores' FMA peak GFLOP/s (1 and 2 cores)");
  auto* m5 = app.add_flag("--profile", profile, "the profiler's tables over the timed steps (text, not JSON)");
  m1->excludes(m2, m3, m4, m5);
  m2->excludes(m3, m4, m5);
  m3->excludes(m4, m5);
  m4->excludes(m5);
  CLI11_PARSE(app, argc, argv);
  try {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(a.threads));
    if (profile) {
      print_profile(a);
      return 0;
    }
    const nlohmann::json out = sgemm ? run_sgemm(a)
                               : ops ? run_ops(a)
                               : overhead ? run_overhead(a)
                               : peak ? run_peak(a)
                                      : run_train(a);
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    fmt::print(stderr, "attograd_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
