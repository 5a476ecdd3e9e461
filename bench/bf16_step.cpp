// The cost of the bf16 run precision: training steps (forward, backward,
// Adam) of a task's model in f32 and in bf16, interleaved round by round so
// both see the same machine load, on one thread.
//
//   build/bench/bf16_step [task] [rounds] [steps per round] [d_model]
//
// prints per precision the median over rounds of a step's CPU time (the
// calling thread, CLOCK_THREAD_CPUTIME_ID: one TBB thread runs every node
// on it; the whole process's CPU time is shown to confirm it), its wall
// time and the loss of the last step. CPU time is what a loaded machine
// distorts least; the wall time is shown for comparison.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/run_config.hpp"
#include "app/trainee.hpp"
#include "app/trainer.hpp"
#include "ops/builtin.hpp"
#include "train/optimizer.hpp"

using namespace attograd;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double cpu_s(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
double thread_cpu_s() { return cpu_s(CLOCK_THREAD_CPUTIME_ID); }
double process_cpu_s() { return cpu_s(CLOCK_PROCESS_CPUTIME_ID); }
double wall_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Run {
  Precision precision;
  std::unique_ptr<Trainee> trainee;
  std::unique_ptr<Optimizer> adam = make_optimizer("adam", {{"beta2", 0.98}, {"eps", 1e-9}});
  std::vector<double> cpu, wall, process;
  std::uint64_t next = 0;
  double loss = 0;

  // `steps` steps; records the mean CPU and wall time of one.
  void steps(int steps) {
    const double c0 = thread_cpu_s(), w0 = wall_s(), p0 = process_cpu_s();
    for (int s = 0; s < steps; ++s) {
      trainee->parameters().zero_grad();
      RunOptions run;
      run.training = true;
      run.seed = 1;
      run.step = next++;
      run.precision = precision;
      loss = trainee->train_batch(run.step, run).first;
      adam->step(trainee->parameters(), 1e-4);
    }
    cpu.push_back((thread_cpu_s() - c0) / steps);
    wall.push_back((wall_s() - w0) / steps);
    process.push_back((process_cpu_s() - p0) / steps);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ensure_builtin_ops();
  TrainOptions o;
  o.task = argc > 1 ? argv[1] : "copy";
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 7, per_round = argc > 3 ? std::stoi(argv[3]) : 3;
  if (argc > 4) o.d_model = std::stoll(argv[4]);
  const RunConfig config = resolve_config(o);
  std::vector<Run> runs;
  for (Precision p : {Precision::f32, Precision::bf16}) runs.push_back({p, make_trainee(config, 1)});
  for (Run& r : runs) r.steps(1);  // warm-up: graphs, pools, packing buffers
  for (Run& r : runs) r.cpu.clear(), r.wall.clear(), r.process.clear();
  for (int round = 0; round < rounds; ++round)
    for (int i = 0; i < 2; ++i) runs[std::size_t((round + i) % 2)].steps(per_round);  // alternate who goes first
  std::printf("%s D=%lld, 1 thread, %d rounds of %d steps\n", config.task.c_str(),
              static_cast<long long>(config.model.d_model), rounds, per_round);
  for (const Run& r : runs)
    std::printf("  %-4s step: median CPU %.1f ms (min %.1f, max %.1f; whole process %.1f), wall %.1f ms; loss %.4f\n",
                precision_name(r.precision), 1e3 * median(r.cpu), 1e3 * *std::min_element(r.cpu.begin(), r.cpu.end()),
                1e3 * *std::max_element(r.cpu.begin(), r.cpu.end()), 1e3 * median(r.process), 1e3 * median(r.wall),
                r.loss);
  std::printf("  bf16 / f32 CPU time: %.2f (median of per-round ratios)\n", [&] {
    std::vector<double> ratios;
    for (std::size_t i = 0; i < runs[0].cpu.size(); ++i) ratios.push_back(runs[1].cpu[i] / runs[0].cpu[i]);
    return median(ratios);
  }());
}
