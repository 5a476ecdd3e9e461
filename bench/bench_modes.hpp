// The modes of attograd_bench. Each but --profile returns one JSON object
// that the program prints on stdout and bench/run.sh collects.
//
//   attograd_bench --config small --threads 2 --warmup-steps 2 --steps 10   train
//   attograd_bench --sgemm --config small     cblas_sgemm on the step's GEMM shapes
//   attograd_bench --ops --config small       single ops against sgemm and memcpy
//   attograd_bench --overhead --threads 1     engine cost per node of tiny ops
//   attograd_bench --peak                     the cores' measured FMA peak
//   attograd_bench --profile --config small   the profiler's tables (text, not JSON)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "bench/bench_common.hpp"

namespace attograd::bench {

struct ModeArgs {
  std::string config = "tiny";
  int threads = 1;
  std::int64_t warmup_steps = 2, steps = 10;
  std::uint64_t seed = 1;
  double min_seconds = 0.2;    // sgemm, ops: timing per measured item
  std::int64_t reps = 20;      // ops, overhead: repetitions (median reported)
  std::int64_t nodes = 4000;   // overhead: graph size
  std::string precision = "f32";  // train: f32, or bf16 mixed precision (engine/precision.hpp)
};

// Trains config's model on `threads` cores: per-step times after warm-up,
// target tokens/s, peak memory, matmul flops and GFLOP/s.
nlohmann::json run_train(const ModeArgs& args);
// cblas_sgemm rates on every GEMM shape of config's training step, one
// caller and two concurrent single-threaded callers, and in aggregate.
nlohmann::json run_sgemm(const ModeArgs& args);
// matmul, softmax, layer_norm, dropout and the loss through the engine,
// against direct cblas_sgemm calls and memcpy bandwidth; and every registered
// op on each of its declared samples.
nlohmann::json run_ops(const ModeArgs& args);
// Forward + backward time per node of graphs of thousands of 1-element ops.
nlohmann::json run_overhead(const ModeArgs& args);
// Single-precision FMA peak of one core and of two cores at once, measured.
nlohmann::json run_peak(const ModeArgs& args);

// The GEMMs of one training step of config (built and run once to find out).
std::vector<GemmCall> config_gemms(const BenchConfig& c, std::uint64_t seed);

// One object per repeated timing: median, min and max in seconds.
nlohmann::json stats_json(const std::vector<double>& seconds);

}  // namespace attograd::bench
