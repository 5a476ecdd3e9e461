// The README's "engine in one screen", as a program: fit y = 2 x0 - x1 + 0.5 x2
// with one linear layer, plain SGD, on the TBB executor.
#include <cstdio>

#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "engine/rng.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"

using namespace attograd;

int main() {
  ParameterStore params(/*seed=*/1);
  Graph g(&params);                                   // passive: structure and types only
  Expr x = input(g, "x", {DType::f32, {32, 3}});      // fed per run
  Expr target = input(g, "target", {DType::f32, {32, 1}});
  Expr y;
  {
    auto s = g.scope("layer");                        // names nodes and parameters
    Expr w = parameter(g, "weight", {1, 3}, Init::xavier_uniform());  // "layer.weight"
    y = matmul(x, w, false, /*transpose_b=*/true);    // (32, 1); shapes checked here
  }
  Expr loss = mean((y - target) * (y - target));

  Executor ex(Backend::tbb, /*threads=*/2);
  for (int step = 0; step < 200; ++step) {
    Tensor xb = Tensor::empty(DType::f32, {32, 3});
    initialize(xb, Init::uniform(-1, 1), mix_keys(7, static_cast<std::uint64_t>(step)));
    Tensor tb = Tensor::empty(DType::f32, {32, 1});
    for (int i = 0; i < 32; ++i) {
      const float* r = xb.data<float>() + 3 * i;
      tb.data<float>()[i] = 2 * r[0] - r[1] + 0.5f * r[2];
    }
    params.zero_grad();
    ex.forward(g, {{x.id, xb}, {target.id, tb}}, {loss.id});
    ex.backward(loss.id);                             // adds into params.at("layer.weight").grad
    Parameter& w = params.at("layer.weight");
    for (std::int64_t k = 0; k < 3; ++k) w.value.data<float>()[k] -= 0.1f * w.grad.data<float>()[k];
    if (step % 50 == 0 || step == 199) std::printf("step %3d  loss %.6f\n", step, ex.value(loss.id).item());
  }
  const float* w = params.at("layer.weight").value.data<float>();
  std::printf("learned weight [%.3f, %.3f, %.3f], expected [2, -1, 0.5]\n", w[0], w[1], w[2]);
}
