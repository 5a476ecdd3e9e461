// What the incremental decoder saves: one greedy (or beam) decoding of an
// input with the cached decoder and with the full-prefix decoder, each on a
// fresh model ("cold": its graphs are built during the decode, as in one
// `attograd decode`) and then again on the same model ("warm": graphs cached,
// as for every example after the first in `attograd eval`).
//
//   build/bench/decode_timing TASK INPUT [--load CKPT] [--beam K] [--repeats N] [--threads T] [--examples E]
// prints the median of N repetitions of each (models of the task's default
// size, untrained unless --load). With --examples E it times instead the
// exact-match rate of E generated examples (batched greedy decoding, what
// `attograd eval` and training's last evaluation run).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/loaded_model.hpp"
#include "app/run_config.hpp"
#include "ops/builtin.hpp"

using namespace attograd;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F> double seconds(F f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  ensure_builtin_ops();
  if (argc < 3) {
    std::fprintf(stderr, "usage: decode_timing TASK INPUT [--load CKPT] [--beam K] [--max-len N] [--repeats N] [--threads T]\n");
    return 2;
  }
  const std::string task_name = argv[1], input = argv[2];
  std::string load;
  int repeats = 5, threads = 2, examples = 0;
  DecodeOptions options;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--load") load = value;
    else if (flag == "--beam") options.beam = std::stoi(value);
    else if (flag == "--max-len") options.max_length = std::stoll(value);
    else if (flag == "--repeats") repeats = std::stoi(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else if (flag == "--examples") examples = std::stoi(value);
  }
  TrainOptions o;
  o.task = task_name;
  const RunConfig config = resolve_config(o);
  auto task = make_task(task_name);
  const TokenIds src = task->encode_source(input);
  auto fresh_model = [&]() -> std::shared_ptr<Seq2SeqModel> {
    if (!load.empty()) {  // the model refers to its task: keep both
      auto loaded = std::make_shared<LoadedSeq2Seq>(load_seq2seq(load, task_name, threads));
      return {loaded, loaded->model.get()};
    }
    return std::make_shared<Seq2SeqModel>(*task, config.model, config.seed, threads, config.label_smoothing);
  };
  // The two paths alternate, so that both see the same machine load.
  std::vector<double> cold[2], warm[2];
  TokenIds out;
  std::int64_t d_model = 0;
  for (int r = 0; r < repeats; ++r)
    for (int path = 0; path < 2; ++path) {
      options.cache = path == 0;
      auto model = fresh_model();
      d_model = model->config().d_model;
      auto run = [&] {
        if (examples > 0) model->exact_match(sample_examples(*task, 1, 0, examples), 100, options.cache);
        else out = model->decode(src, options);
      };
      cold[path].push_back(seconds(run));
      warm[path].push_back(seconds(run));
    }
  for (int path = 0; path < 2; ++path) {
    const std::string what = examples > 0 ? std::to_string(examples) + " examples (exact match)"
                                          : "'" + input + "' beam " + std::to_string(options.beam) + ", " +
                                                std::to_string(out.size() - 1) + " tokens";
    std::printf("%s D=%lld %s, %s: median of %d: cold %.1f ms, warm %.1f ms (%d threads)\n", task_name.c_str(),
                static_cast<long long>(d_model), what.c_str(), path == 0 ? "cached     " : "full prefix", repeats,
                1e3 * median(cold[path]), 1e3 * median(warm[path]), threads);
  }
}
