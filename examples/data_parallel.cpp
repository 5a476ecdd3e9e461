// A custom model trained data-parallel with dist/: the fit of minimal.cpp
// with 4 micro-batches of 32 rows a step and Adam. Run it alone or as any
// number of ranks dividing 4; rank 0 prints, and the printed bits (the
// weights' hex and the losses) are the same for 1, 2 or 4 ranks, and with
// Adam's moments sharded over the ranks (ZeRO stage 1):
//
//   build/examples/data_parallel
//   mpirun -np 2 build/examples/data_parallel
//   mpirun -np 2 build/examples/data_parallel --shard-optimizer
#include <cstdio>
#include <cstring>
#include <string_view>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/rng.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "train/optimizer.hpp"

using namespace attograd;

namespace {

// Micro-batch `index`: x (32, 3) uniform in [-1, 1], target y = 2 x0 - x1 + 0.5 x2.
std::pair<Tensor, Tensor> micro_batch(std::uint64_t index) {
  Tensor x = Tensor::empty(DType::f32, {32, 3});
  initialize(x, Init::uniform(-1, 1), mix_keys(7, index));  // depends on the index only: any rank can make it
  Tensor t = Tensor::empty(DType::f32, {32, 1});
  for (int i = 0; i < 32; ++i) {
    const float* r = x.data<float>() + 3 * i;
    t.data<float>()[i] = 2 * r[0] - r[1] + 0.5f * r[2];
  }
  return {x, t};
}

}  // namespace

int main(int argc, char** argv) {
  const auto comm = make_communicator();  // Open MPI under mpirun, else one process
  ParameterStore params(/*seed=*/1);      // the same initial values on every rank
  Graph g(&params);
  Expr x = input(g, "x", {DType::f32, {32, 3}});
  Expr target = input(g, "target", {DType::f32, {32, 1}});
  Expr w = parameter(g, "weight", {1, 3}, Init::xavier_uniform());
  Expr y = matmul(x, w, false, /*transpose_b=*/true);
  Expr loss = mean((y - target) * (y - target));

  constexpr std::int64_t K = 4;  // micro-batches a step; the number of ranks must divide it
  Executor ex(Backend::tbb, /*threads=*/1);
  const bool shard = argc > 1 && std::string_view(argv[1]) == "--shard-optimizer";
  DataParallel dp(*comm, params, {.shard_optimizer = shard});
  auto adam = make_optimizer("adam", {{"beta2", 0.98}});
  for (std::int64_t step = 0; step < 100; ++step) {
    dp.begin_step(K);
    for (const std::int64_t k : dp.micro_batches()) {  // this rank's: k = j * ranks + rank
      dp.run(k, [&] {
        const auto [xb, tb] = micro_batch(static_cast<std::uint64_t>(step * K + k));
        // With DataParallelOptions::bucket_bytes > 0 (several ranks) the observer
        // lets the exchange start while backward runs; without, it changes nothing.
        ex.forward(g, {{x.id, xb}, {target.id, tb}}, {loss.id}, {.observer = dp.gradient_observer()});
        ex.backward(loss.id);  // adds into the weight's gradient
        return MicroBatchResult{ex.value(loss.id).item(), 32};
      });
    }
    const StepTotals totals = dp.end_step();  // every rank: the gradient summed over k = 0..K-1, in k order
    dp.update(*adam, {.lr = 0.05, .grad_scale = 1.0 / K});  // scale_grads(params, 1.0 / K); adam->step(params, 0.05)
    if (comm->rank() == 0 && (step % 25 == 0 || step == 99)) std::printf("step %3lld  loss %.9g\n", static_cast<long long>(step), totals.loss);
  }
  if (comm->rank() != 0) return 0;
  const float* v = params.at("weight").value.data<float>();
  std::uint32_t bits[3];
  std::memcpy(bits, v, sizeof bits);
  std::printf("learned weight [%.4f, %.4f, %.4f] (bits %08x %08x %08x) on %s, expected [2, -1, 0.5]\n", v[0], v[1],
              v[2], bits[0], bits[1], bits[2], comm->describe().c_str());
}
