// A model written outside attograd, as a user writes one: a 2-layer MLP
// (models/ builders, ops/ activations) learns y = x0 * x1 with Adam (train/)
// on the TBB executor. Built against an install with pkg-config, with CMake,
// and with attograd as a meson subproject (tests/install/*.sh); prints the
// loss every 25 steps, which must fall below a quarter of the first.
#include <cstdint>
#include <cstdio>

#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/rng.hpp"
#include "models/layers.hpp"
#include "ops/activations.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "train/optimizer.hpp"

using namespace attograd;

int main() {
  const std::int64_t batch = 64, hidden = 32;
  ParameterStore params(/*seed=*/3);
  Graph g(&params);
  Expr x = input(g, "x", {DType::f32, {batch, 2}});
  Expr target = input(g, "target", {DType::f32, {batch, 1}});
  Expr h, y;
  {
    auto s = g.scope("fc1");
    h = tanh(linear(x, hidden));                    // (B, 32): "fc1.weight", "fc1.bias"
  }
  {
    auto s = g.scope("fc2");
    y = linear(h, 1);                               // (B, 1)
  }
  Expr loss = mean((y - target) * (y - target));

  Executor ex(Backend::tbb, /*threads=*/2);
  auto adam = make_optimizer("adam");
  for (int step = 0; step <= 150; ++step) {
    Tensor xb = Tensor::empty(DType::f32, {batch, 2});
    initialize(xb, Init::uniform(-1, 1), mix_keys(11, static_cast<std::uint64_t>(step)));
    Tensor tb = Tensor::empty(DType::f32, {batch, 1});
    for (std::int64_t i = 0; i < batch; ++i) tb.data<float>()[i] = xb.data<float>()[2 * i] * xb.data<float>()[2 * i + 1];
    params.zero_grad();
    ex.forward(g, {{x.id, xb}, {target.id, tb}}, {loss.id});
    ex.backward(loss.id);
    adam->step(params, /*lr=*/0.02);
    if (step % 25 == 0) std::printf("step %3d loss %.6f\n", step, ex.value(loss.id).item());
  }
}
