// The overlapped exchange's threads, in one process, for ThreadSanitizer
// (suite 'tsan', `scripts/test.sh --tsan`): the executor's std::thread
// workers report final gradients (GradientObserver), the communication
// thread packs, "exchanges" (SingleProcess copies) and adds bucket after
// bucket, the calling thread opens and closes rounds. Never touches TBB or
// MPI (TSan misreports Debian's TBB; Open MPI is not ours to check). The
// result must be the in-order sum of the rounds' gradients, bit for bit.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dist/bucket_exchange.hpp"
#include "dist/communicator.hpp"
#include "dist/flat_layout.hpp"
#include "dist/gradient_observer.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/runners.hpp"
#include "ops/activations.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"

using namespace attograd;

TEST_CASE("rounds of buckets filled from worker threads add up to the in-order sum of their gradients") {
  ParameterStore store(7);
  Graph g(&store);
  Expr x = input(g, "x", {DType::f32, {4, 32}});
  // Twelve independent branches: their parameters become final in any order, from any worker.
  Expr loss;
  for (int i = 0; i < 12; ++i) {
    Expr w = parameter(g, "w" + std::to_string(i), {32, 8 + i}, Init::xavier_uniform());
    Expr branch = mean(tanh(matmul(x, w)));
    loss = i == 0 ? branch : loss + branch;
  }
  Parameter& unused = store.get_or_create("unused", DType::f32, {5}, Init::zeros());  // final at close
  unused.grad = Tensor::zeros(DType::f32, {5});

  SingleProcess one;
  const FlatLayout layout = flat_layout(store, 1);
  std::vector<float> flat(static_cast<std::size_t>(layout.size())), sum(flat.size(), 0.0f), expected(flat.size(), 0.0f);
  for (const std::int64_t bucket_bytes : {std::int64_t{1}, std::int64_t{2000}}) {
    std::fill(sum.begin(), sum.end(), 0.0f);
    std::fill(expected.begin(), expected.end(), 0.0f);
    BucketExchange exchange(one, layout, bucket_bytes, flat);
    GradientObserver observer(layout, store);
    observer.set_exchange(&exchange);
    Executor ex(Backend::threads, 4);
    for (int round = 0; round < 20; ++round) {
      store.zero_grad();
      exchange.open_round(sum);
      Tensor xb = Tensor::empty(DType::f32, {4, 32});
      initialize(xb, Init::uniform(-1, 1), static_cast<std::uint64_t>(round));
      RunOptions run;
      run.observer = &observer;
      ex.forward(g, {{x.id, xb}}, {loss.id}, run);
      ex.backward(loss.id);
      exchange.close_round();
      FlushDenormals fp;
      for (std::size_t i = 0, at = 0; i < layout.params.size(); ++i)
        for (float d : layout.params[i]->grad.span<float>()) expected[at++] += d;
    }
    CHECK(std::memcmp(sum.data(), expected.data(), sum.size() * sizeof(float)) == 0);
  }
}
