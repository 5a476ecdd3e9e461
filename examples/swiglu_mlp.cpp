// A model that uses a run-time plugin op by name.
//
//   swiglu_mlp [path/to/libswiglu.so]     (default: the plugin built next to it)
//
// Loads the swiglu plugin (examples/plugins/swiglu), builds a two-layer MLP
// whose hidden activation is apply("swiglu", {h}) and fits a toy regression
// with plain SGD, printing the loss as it falls:
//   x (B, D) -> linear (B, 2F) -> swiglu (B, F) -> linear (B, 1)
//   target y = sin(2 x0) + x1 * x2 - 0.5 x3,   loss = mean((pred - y)^2)
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "engine/plugin.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"

using namespace attograd;

namespace {

constexpr std::int64_t B = 64, D = 4, F = 16;

// x (B, in) -> (B, out), weight [out, in] as in PyTorch. Written as a
// broadcast multiply and a sum: plenty for these sizes.
Expr linear(Graph& g, const std::string& name, Expr x, std::int64_t in, std::int64_t out) {
  auto s = g.scope(name);
  Expr w = parameter(g, "weight", {out, in}, Init::xavier_uniform());  // (out, in)
  Expr b = parameter(g, "bias", {out}, Init::zeros());
  Expr prod = reshape(x, {x.dim(0), 1, in}) * w;                      // (B, out, in)
  return sum(prod, {-1}) + b;                                          // (B, out)
}

Expr mlp(Graph& g, Expr x) {
  Expr h = linear(g, "fc1", x, D, 2 * F);  // (B, 2F)
  Expr a = apply("swiglu", {h});           // (B, F), the plugin's op
  return linear(g, "fc2", a, F, 1);        // (B, 1)
}

// The toy data set: B points uniform in [-1, 1)^D and their targets.
std::pair<Tensor, Tensor> toy_data() {
  Tensor x = Tensor::empty(DType::f32, {B, D});
  initialize(x, Init::uniform(-1, 1), 7);
  Tensor y = Tensor::empty(DType::f32, {B, 1});
  const float* p = x.data<float>();
  for (std::int64_t i = 0; i < B; ++i, p += D)
    y.data<float>()[i] = std::sin(2 * p[0]) + p[1] * p[2] - 0.5f * p[3];
  return {x, y};
}

void sgd_step(ParameterStore& store, float lr) {
  for (Parameter& p : store.all()) {
    float* v = p.value.data<float>();
    const float* grad = p.grad.data<float>();
    for (std::int64_t i = 0; i < p.value.numel(); ++i) v[i] -= lr * grad[i];
  }
  store.zero_grad();
}

std::string default_plugin_path() {
  const auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  return (dir / "plugins" / "swiglu" / "libswiglu.so").string();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : default_plugin_path();
  try {
    const PluginInfo plugin = load_plugin(path);
    std::printf("loaded %s: %s\n", path.c_str(), default_registry().schema(plugin.ops.at(0)).summary.c_str());

    ParameterStore store(1);
    Graph g(&store);
    Expr x = input(g, "x", {DType::f32, {B, D}});
    Expr y = input(g, "y", {DType::f32, {B, 1}});
    Expr diff = mlp(g, x) - y;
    Expr loss = mean(diff * diff);

    const auto [xs, ys] = toy_data();
    Executor ex(Backend::tbb);
    for (int step = 0; step <= 60; ++step) {
      ex.forward(g, {{x.id, xs}, {y.id, ys}}, {loss.id});
      if (step % 10 == 0) std::printf("step %2d  loss %.5f\n", step, ex.value(loss.id).item());
      ex.backward(loss.id);
      sgd_step(store, 0.2f);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
