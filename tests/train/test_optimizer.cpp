#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <tbb/task_arena.h>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "train/optimizer.hpp"
#include "engine/rng.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using attograd::testing::check_close;

namespace {

// p = [1, -2] (f64) and the gradients of three steps.
const std::vector<std::vector<double>> kGrads = {{0.5, 0.25}, {-0.25, 0.5}, {0.125, -1.0}};

ParameterStore one_parameter() {
  ParameterStore store;
  Parameter& p = store.get_or_create("w", DType::f64, {2}, Init::zeros());
  p.value = Tensor::from<double>({2}, {1.0, -2.0});
  return store;
}

// Runs the three steps with lr 0.1; returns the value after each step.
std::vector<Tensor> run_steps(Optimizer& opt, ParameterStore& store) {
  std::vector<Tensor> values;
  for (const auto& g : kGrads) {
    store.at("w").grad = Tensor::from<double>({2}, g);
    opt.step(store, 0.1);
    values.push_back(store.at("w").value.clone());
  }
  return values;
}

// Several parameters, two of them spanning several update blocks, with
// random values and gradients.
ParameterStore random_store(DType dtype) {
  ParameterStore store(5);
  for (auto [name, shape] : {std::pair<const char*, Shape>{"a.weight", {100, 170}}, {"a.bias", {170}},
                             {"b.weight", {20000}}}) {
    Parameter& p = store.get_or_create(name, dtype, shape, Init::normal(0, 1));
    initialize(p.grad, Init::normal(0, 0.1), hash_name(name));
  }
  return store;
}

}  // namespace

TEST_CASE("sgd without momentum moves against the gradient by lr times it") {
  ParameterStore store = one_parameter();
  Sgd opt;
  const auto v = run_steps(opt, store);
  check_close(v[0], {0.95, -2.025}, 1e-15);    // 1 - 0.1 * 0.5, -2 - 0.1 * 0.25
  check_close(v[1], {0.975, -2.075}, 1e-15);   // + 0.1 * 0.25, - 0.1 * 0.5
  check_close(v[2], {0.9625, -1.975}, 1e-15);  // - 0.1 * 0.125, + 0.1 * 1
  CHECK(store.at("w").state.empty());          // no momentum: no buffer
}

TEST_CASE("sgd with momentum and weight decay matches the hand-computed momentum buffer") {
  ParameterStore store = one_parameter();
  Sgd opt({.momentum = 0.9, .weight_decay = 0.1});
  const auto v = run_steps(opt, store);
  // Step 1: d = g + 0.1 p = [0.6, 0.05]; buffer = d; p -= 0.1 * buffer.
  check_close(v[0], {0.94, -2.005}, 1e-15);
  // Step 2: d = [-0.25 + 0.094, 0.5 - 0.2005] = [-0.156, 0.2995];
  //         buffer = 0.9 * [0.6, 0.05] + d = [0.384, 0.3445].
  check_close(v[1], {0.94 - 0.0384, -2.005 - 0.03445}, 1e-15);
  // Step 3: d = [0.125 + 0.09016, -1 - 0.203945]; buffer = 0.9 * [0.384, 0.3445] + d.
  check_close(v[2], {0.845524, -1.9500605}, 1e-14);
  check_close(store.at("w").state.at("momentum_buffer"), {0.56076, -0.893895}, 1e-14);
}

TEST_CASE("adam matches PyTorch's formula with bias correction for three steps") {
  ParameterStore store = one_parameter();
  Adam opt;
  const auto v = run_steps(opt, store);
  // Step 1: m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) = g and sqrt(v / (1 - 0.999)) = |g|,
  // so p moves by lr * g / (|g| + 1e-8) = 0.1 * (1 - 2e-8) resp. (1 - 4e-8).
  check_close(v[0], {0.900000002, -2.099999996}, 1e-15);
  // Steps 2 and 3 (the same arithmetic; values agree with torch.optim.Adam in float64).
  check_close(v[1], {0.8733662987078463, -2.1965181961408047}, 1e-14);
  check_close(v[2], {0.8393233849166541, -2.177138750933021}, 1e-14);
  // m3 = 0.9 m2 + 0.1 g3 with m2 = 0.9 * 0.05 - 0.025 = 0.02: 0.018 + 0.0125.
  check_close(store.at("w").state.at("exp_avg"), {0.0305, -0.03475}, 1e-15);
  check_close(store.at("w").state.at("exp_avg_sq"), {0.00032756275, 0.0013121250625}, 1e-15);
  CHECK(opt.step_count() == 3);
}

TEST_CASE("adam's weight decay is added to the gradient (L2)") {
  ParameterStore store = one_parameter();
  Adam opt({.weight_decay = 0.1});
  const auto v = run_steps(opt, store);
  // Step 1: g' = g + 0.1 p = [0.6, 0.05]: the bias-corrected step is still lr * g' / (|g'| + eps).
  check_close(v[0], {1 - 0.1 * 0.6 / (0.6 + 1e-8), -2 - 0.1 * 0.05 / (0.05 + 1e-8)}, 1e-15);
  check_close(v[1], {0.8544413674617625, -2.1847119740372833}, 1e-14);
  check_close(v[2], {0.8005694720858495, -2.1379797489208006}, 1e-14);
}

TEST_CASE("adamw decays the weights before the adam update, leaving the moments alone") {
  ParameterStore store = one_parameter();
  AdamW opt({.weight_decay = 0.1});
  const auto v = run_steps(opt, store);
  // Step 1: p * (1 - 0.1 * 0.1) = [0.99, -1.98], then the adam step of plain adam.
  check_close(v[0], {0.890000002, -2.079999996}, 1e-15);
  check_close(v[1], {0.8544662986878463, -2.1557181961808047}, 1e-14);
  check_close(v[2], {0.8118787219097756, -2.114781569011213}, 1e-14);
  check_close(store.at("w").state.at("exp_avg"), {0.0305, -0.03475}, 1e-15);  // as adam without decay
}

TEST_CASE("adamw without weight decay is exactly adam") {
  ParameterStore a = one_parameter(), b = one_parameter();
  Adam adam;
  AdamW adamw({.weight_decay = 0});
  const auto va = run_steps(adam, a), vb = run_steps(adamw, b);
  for (int i = 0; i < 3; ++i) CHECK(va[i].bit_equal(vb[i]));
}

TEST_CASE("optimizers update trainable parameters only") {
  for (const char* name : {"sgd", "adam", "adamw"}) {
    INFO(name);
    ParameterStore store = random_store(DType::f32);
    Parameter& frozen = store.at("a.bias");
    frozen.trainable = false;
    const Tensor before = frozen.value.clone();
    make_optimizer(name, name == std::string("sgd") ? Hyperparameters{{"momentum", 0.5}} : Hyperparameters{})
        ->step(store, 0.01);
    CHECK(frozen.value.bit_equal(before));
    CHECK(frozen.state.empty());
    CHECK_FALSE(store.at("a.weight").state.empty());
  }
}

TEST_CASE("optimizer updates are bit-identical serially and on 1, 2 and 4 TBB threads, in f32 and f64") {
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const char* name : {"sgd", "adam", "adamw"}) {
      INFO(name << " " << dtype_name(dtype));
      // threads == 0: through a SerialParallel instead of TBB.
      auto run = [&](int threads) {
        ParameterStore store = random_store(dtype);
        auto opt = make_optimizer(name, name == std::string("sgd") ? Hyperparameters{{"momentum", 0.9}} : Hyperparameters{});
        if (threads == 0) {
          for (int s = 0; s < 3; ++s) opt->step(store, 1e-2, SerialParallel());
        } else {
          tbb::task_arena(threads).execute([&] {
            for (int s = 0; s < 3; ++s) opt->step(store, 1e-2);
          });
        }
        return store;
      };
      const ParameterStore one = run(1);
      for (int threads : {0, 2, 4}) {
        INFO("threads " << threads);
        const ParameterStore many = run(threads);
        for (std::size_t i = 0; i < one.size(); ++i) {
          CHECK(many.all()[i].value.bit_equal(one.all()[i].value));
          for (const auto& [slot, t] : one.all()[i].state) CHECK(many.all()[i].state.at(slot).bit_equal(t));
        }
      }
    }
  }
}

TEST_CASE("an optimizer rebuilt from its name, hyperparameters, state and step count continues identically") {
  ParameterStore a = random_store(DType::f32);
  auto opt = make_optimizer("adam", {{"beta2", 0.98}, {"eps", 1e-9}});
  opt->step(a, 1e-3);
  opt->step(a, 1e-3);
  ParameterStore b = random_store(DType::f32);  // same grads; copy values and state
  for (std::size_t i = 0; i < a.size(); ++i) {
    b.all()[i].value = a.all()[i].value.clone();
    for (const auto& [slot, t] : a.all()[i].state) b.all()[i].state[slot] = t.clone();
  }
  auto resumed = make_optimizer(opt->name(), opt->hyperparameters());
  resumed->set_step_count(opt->step_count());
  opt->step(a, 1e-3);
  resumed->step(b, 1e-3);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a.all()[i].value.bit_equal(b.all()[i].value));
}

TEST_CASE("make_optimizer refuses unknown names, unknown hyperparameters and invalid values") {
  CHECK_THROWS_WITH_AS(make_optimizer("adagrad"), doctest::Contains("unknown optimizer 'adagrad'"), Error);
  CHECK_THROWS_WITH_AS(make_optimizer("adam", {{"beta3", 0.9}}), doctest::Contains("unknown parameter 'beta3'"), Error);
  CHECK_THROWS_WITH_AS(make_optimizer("adam", {{"beta1", 1.0}}), doctest::Contains("invalid beta1"), Error);
  CHECK_THROWS_WITH_AS(make_optimizer("sgd", {{"momentum", -0.5}}), doctest::Contains("invalid momentum"), Error);
  CHECK(make_optimizer("adamw")->hyperparameters().at("weight_decay") == 0.01);  // PyTorch's default
  ParameterStore store = one_parameter();
  CHECK_THROWS_WITH_AS(Sgd().step(store, -1), doctest::Contains("invalid learning rate"), Error);
}

TEST_CASE("clip_grad_norm returns the global norm and scales gradients down to max_norm") {
  ParameterStore store;
  store.get_or_create("a", DType::f32, {2}, Init::zeros()).grad = Tensor::from<float>({2}, {3, 4});
  store.get_or_create("b", DType::f64, {1}, Init::zeros()).grad = Tensor::from<double>({1}, {12});
  CHECK(grad_norm(store) == 13.0);  // sqrt(9 + 16 + 144)
  CHECK(clip_grad_norm(store, 6.5) == 13.0);
  const double c = 6.5 / (13 + 1e-6);
  check_close(store.at("a").grad, {3 * c, 4 * c}, 1e-6);
  check_close(store.at("b").grad, {12 * c}, 1e-12);
  // Under the limit nothing changes.
  const Tensor before = store.at("b").grad.clone();
  CHECK(clip_grad_norm(store, 100) == doctest::Approx(6.5).epsilon(1e-6));
  CHECK(store.at("b").grad.bit_equal(before));
}

TEST_CASE("clip_grad_norm sums squares in double and ignores frozen parameters") {
  ParameterStore store;
  // 1e20 squared overflows float but not double.
  store.get_or_create("big", DType::f32, {2}, Init::zeros()).grad = Tensor::from<float>({2}, {1e20f, 1e20f});
  Parameter& frozen = store.get_or_create("frozen", DType::f32, {1}, Init::zeros());
  frozen.grad = Tensor::from<float>({1}, {1e30f});
  frozen.trainable = false;
  CHECK(grad_norm(store) == doctest::Approx(std::sqrt(2.0) * 1e20));
  clip_grad_norm(store, 1.0);
  CHECK(frozen.grad.at({0}) == doctest::Approx(1e30));
  // A non-finite norm is reported and the gradients are left alone.
  store.at("big").grad = Tensor::from<float>({2}, {std::numeric_limits<float>::infinity(), 1});
  CHECK(std::isinf(clip_grad_norm(store, 1.0)));
  CHECK(store.at("big").grad.at({1}) == 1.0);
}

TEST_CASE("the gradient norm is bit-identical serially and for 1, 2 and 4 threads") {
  const ParameterStore store = random_store(DType::f32);
  double norms[3];
  int k = 0;
  for (int threads : {1, 2, 4}) tbb::task_arena(threads).execute([&] { norms[k++] = grad_norm(store); });
  CHECK(norms[0] == norms[1]);
  CHECK(norms[0] == norms[2]);
  CHECK(norms[0] == grad_norm(store, SerialParallel()));
}

TEST_CASE("gradients accumulate over backward calls until zero_grad, and scale_grads averages them") {
  ParameterStore store;
  Graph g(&store);
  Expr x = input(g, "x", {DType::f32, {3}});
  Expr loss = sum(parameter(g, "w", {3}, Init::ones()) * x);  // d loss / d w = x
  Executor ex(Backend::sequential);
  for (auto values : {std::vector<float>{1, 2, 3}, std::vector<float>{3, 2, 1}}) {
    ex.forward(g, {{x.id, Tensor::from<float>({3}, values)}}, {loss.id});
    ex.backward(loss.id);
  }
  check_close(store.at("w").grad, {4, 4, 4});
  scale_grads(store, 0.5);  // the mean of the two micro-batches
  check_close(store.at("w").grad, {2, 2, 2});
  store.zero_grad();
  check_close(store.at("w").grad, {0, 0, 0});
}
