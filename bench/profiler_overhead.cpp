// What profiling costs: training steps of a task's model with no observer,
// and with a Profiler attached, alternated so both see the same machine load.
//
//   build/bench/profiler_overhead [task] [steps] [d_model]
// prints the median step time of each and the relative overhead.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/run_config.hpp"
#include "app/trainee.hpp"
#include "app/trainer.hpp"
#include "train/optimizer.hpp"
#include "profile/profiler.hpp"
#include "ops/builtin.hpp"

using namespace attograd;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  ensure_builtin_ops();
  TrainOptions o;
  o.task = argc > 1 ? argv[1] : "copy";
  const int steps = argc > 2 ? std::stoi(argv[2]) : 20;
  if (argc > 3) o.d_model = std::stoll(argv[3]);
  RunConfig config = resolve_config(o);
  config.steps = 2 * steps + 2;
  auto trainee = make_trainee(config, 0);
  auto optimizer = make_optimizer("adam");
  const LrSchedule schedule = lr_schedule_for(config);
  Profiler profiler;
  std::vector<double> off, on;
  for (int step = 1; step <= config.steps; ++step) {
    const bool profile = step % 2 == 0;
    const auto t0 = std::chrono::steady_clock::now();
    train_step(*trainee, *optimizer, schedule, config, step, false, profile ? &profiler : nullptr);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step > 2) (profile ? on : off).push_back(s);
  }
  const double a = median(off), b = median(on);
  std::printf("%s D=%lld: median step %.2f ms without profiler, %.2f ms with (%+.1f%%), %zu events recorded\n",
              config.task.c_str(), static_cast<long long>(config.model.d_model), 1e3 * a, 1e3 * b, 100 * (b - a) / a,
              profiler.event_count());
}
