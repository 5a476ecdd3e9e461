// data_parallel_step: where the time of a data-parallel training step goes.
// Run it under mpirun (bench/data_parallel.sh does, for 1 and 2 ranks):
//
//   mpirun -np 2 build/bench/data_parallel_step --task copy --accumulate 2 --threads 1
//
// It trains the task's model as `attograd train` does (DataParallel, K =
// --accumulate micro-batches a step, N ranks running K/N each) and splits
// each step, on rank 0, into
//   compute    forward + backward of this rank's micro-batches (the
//              communication thread's share of the cores included)
//   exchange   the ordered reduce-scatters' time after backward (all of it
//              with --bucket-mb 0; with overlap the wait for the last
//              buckets) and the all-gather (gradients, or weights with
//              --shard-optimizer), waiting for the slower rank included
//   hidden     time with a bucket of the exchange in flight while backward
//              still ran (DataParallel::exchange_times().overlapped; not in
//              `exchange`)
//   agree      the small all-gathers that carry errors and losses, with the
//              wait for the slower rank's compute (the first collective
//              after it is one of these)
//   update     scaling, clipping and the optimizer (its shard, sharded)
// then times the exchange alone on a buffer of the model's size, one round
// (reduce-scatter + all-gather) against one MPI_Allreduce(SUM), interleaved.
// Prints one JSON object (rank 0): medians over the timed steps.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/run_config.hpp"
#include "app/trainee.hpp"
#include "app/trainer.hpp"
#include "dist/data_parallel.hpp"
#include "ops/builtin.hpp"
#include "train/optimizer.hpp"

using namespace attograd;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Forwards every collective to `inner`, adding up the time spent in the
// gradient/weight exchange and in the small all-gathers.
class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(Communicator& inner) : inner_(inner) {}
  double exchange_s = 0, agree_s = 0;

  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  std::string describe() const override { return inner_.describe(); }
  std::vector<std::string> allgather(const std::string& bytes) override {
    const auto t = Clock::now();
    auto all = inner_.allgather(bytes);
    agree_s += since(t);
    return all;
  }
  // The reduce-scatter is timed by DataParallel itself (exchange_times()),
  // which knows what of it ran during backward.
  void reduce_scatter_in_order(std::span<const float> full, std::span<float> mine,
                               std::span<const std::int64_t> offsets) override {
    inner_.reduce_scatter_in_order(full, mine, offsets);
  }
  std::unique_ptr<PendingExchange> start_scatter_to_owners(std::span<const float> full, std::int64_t lo, std::int64_t hi,
                                                           std::span<float> pieces,
                                                           std::span<const std::int64_t> offsets) override {
    return inner_.start_scatter_to_owners(full, lo, hi, pieces, offsets);
  }
  bool allows_other_threads() const override { return inner_.allows_other_threads(); }
  void allgather_shards(std::span<const float> mine, std::span<float> full,
                        std::span<const std::int64_t> offsets) override {
    timed([&] { inner_.allgather_shards(mine, full, offsets); });
  }
  void gather_shards(std::span<const float> mine, std::span<float> full,
                     std::span<const std::int64_t> offsets) override {
    timed([&] { inner_.gather_shards(mine, full, offsets); });
  }
  [[noreturn]] void abort(int code) override {
    inner_.abort(code);
    std::exit(code);  // not reached
  }

 private:
  template <class F> void timed(const F& f) {
    const auto t = Clock::now();
    f();
    exchange_s += since(t);
  }
  Communicator& inner_;
};

struct StepTimes {
  std::vector<double> step, compute, exchange, hidden, agree, update;
};

StepTimes train(DataParallel& dp, TimedCommunicator& timed, Trainee& trainee, const RunConfig& config,
                int warmup_steps, int steps) {
  auto optimizer = optimizer_for(config);
  const LrSchedule schedule = lr_schedule_for(config);
  StepTimes t;
  for (int step = 1; step <= warmup_steps + steps; ++step) {
    timed.exchange_s = timed.agree_s = 0;
    double compute = 0;
    const auto start = Clock::now();
    dp.begin_step(config.accumulate);
    for (const std::int64_t k : dp.micro_batches()) {
      RunOptions run = micro_batch_options(config, step, k);
      run.observer = dp.gradient_observer();
      dp.run(k, [&] {
        const auto t0 = Clock::now();
        const auto [loss, tokens] = trainee.train_batch(run.step, run);
        compute += since(t0);
        return MicroBatchResult{loss, tokens};
      });
    }
    dp.end_step();
    const double collectives_before_update = timed.exchange_s + timed.agree_s;
    const auto u0 = Clock::now();
    const double mean = config.accumulate > 1 ? 1.0 / static_cast<double>(config.accumulate) : 1.0;
    dp.update(*optimizer, {.lr = learning_rate(schedule, step), .grad_scale = mean, .clip = config.clip});
    // Sharded, the weights' all-gather is exchange and the norm's block sums an agreement.
    const double update = since(u0) - (timed.exchange_s + timed.agree_s - collectives_before_update);
    if (step <= warmup_steps) continue;
    t.step.push_back(since(start));
    t.compute.push_back(compute);
    t.exchange.push_back(timed.exchange_s + dp.exchange_times().after_backward);
    t.hidden.push_back(dp.exchange_times().overlapped);
    t.agree.push_back(timed.agree_s);
    t.update.push_back(update);
  }
  return t;
}

// One round of the ordered exchange against MPI_Allreduce(SUM) on n floats,
// interleaved, each the slowest rank's time after a barrier.
std::pair<std::vector<double>, std::vector<double>> exchange_alone(Communicator& comm, std::int64_t n, int repeats) {
  const int N = comm.size(), r = comm.rank();
  std::vector<std::int64_t> offsets;
  for (std::int64_t s = 0; s <= N; ++s) offsets.push_back(n * s / N);
  std::vector<float> mine(static_cast<std::size_t>(n), 1e-3f * static_cast<float>(r + 1)), full(mine.size());
  std::vector<float> shard(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r) + 1] - offsets[static_cast<std::size_t>(r)]));
  const auto slowest = [&](const auto& f) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto t = Clock::now();
    f();
    double s = since(t), max = 0;
    MPI_Allreduce(&s, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return max;
  };
  std::vector<double> ordered, allreduce;
  for (int k = 0; k < repeats; ++k) {
    ordered.push_back(slowest([&] {
      std::fill(shard.begin(), shard.end(), 0.0f);
      comm.reduce_scatter_in_order(mine, shard, offsets);
      comm.allgather_shards(shard, full, offsets);
    }));
    allreduce.push_back(slowest([&] {
      MPI_Allreduce(mine.data(), full.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }));
  }
  return {ordered, allreduce};
}

}  // namespace

int main(int argc, char** argv) {
  ensure_builtin_ops();
  TrainOptions o;
  int threads = 1, warmup_steps = 2, steps = 6, repeats = 7;
  bool shard = false;
  double bucket_mb = 0;
  CLI::App app("Where the time of a data-parallel training step goes (run under mpirun)");
  app.add_option("--task", o.task, "copy, numbers or lm")->check(CLI::IsMember({"copy", "numbers", "lm"}));
  app.add_option("--layers", o.layers);
  app.add_option("--d-model", o.d_model);
  app.add_option("--heads", o.heads);
  app.add_option("--d-ff", o.d_ff);
  app.add_option("--batch", o.batch);
  app.add_option("--accumulate", o.accumulate, "micro-batches a step (the ranks must divide it)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--clip", o.clip);
  app.add_option("--threads", threads, "threads per rank")->check(CLI::Range(1, 1024));
  app.add_option("--warmup-steps", warmup_steps, "steps run before timing")->check(CLI::Range(0, 100000));
  app.add_option("--steps", steps, "timed steps")->check(CLI::Range(1, 100000));
  app.add_option("--repeats", repeats, "repeats of the exchange alone")->check(CLI::Range(1, 100000));
  app.add_flag("--shard-optimizer", shard);
  app.add_option("--bucket-mb", bucket_mb, "MiB of gradient per bucket of the overlapped exchange; 0: after backward")
      ->check(CLI::Range(0.0, 1e6));
  CLI11_PARSE(app, argc, argv);
  // Bad model flags fail the same way on every rank, before MPI starts:
  // a message and exit 1, which ends the job (later errors abort it).
  RunConfig config;
  try {
    config = resolve_config(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "data_parallel_step: {}\n", e.what());
    return 1;
  }

  const auto world = make_communicator();
  TimedCommunicator comm(*world);
  auto trainee = make_trainee(config, threads);
  DataParallel dp(comm, trainee->parameters(),
                  {.shard_optimizer = shard, .bucket_bytes = static_cast<std::int64_t>(bucket_mb * (1 << 20))});
  const StepTimes t = train(dp, comm, *trainee, config, warmup_steps, steps);
  const std::int64_t n = trainee->parameters().numel();
  nlohmann::json out{{"task", config.task}, {"ranks", comm.size()}, {"threads", threads},
                     {"accumulate", config.accumulate}, {"shard_optimizer", shard}, {"parameters", n},
                     {"bucket_mb", bucket_mb}, {"overlaps", dp.overlaps()},
                     {"steps", steps}, {"step_ms", 1e3 * median(t.step)}, {"compute_ms", 1e3 * median(t.compute)},
                     {"exchange_ms", 1e3 * median(t.exchange)}, {"agree_ms", 1e3 * median(t.agree)},
                     {"update_ms", 1e3 * median(t.update)}, {"hidden_ms", 1e3 * median(t.hidden)}};
  if (comm.size() > 1) {
    const auto [ordered, allreduce] = exchange_alone(*world, n, repeats);
    out["ordered_round_ms"] = 1e3 * median(ordered);
    out["allreduce_ms"] = 1e3 * median(allreduce);
  }
  if (comm.rank() == 0) fmt::print("{}\n", out.dump());
  return 0;
}
