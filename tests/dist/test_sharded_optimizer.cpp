// Optimizer-state sharding (ZeRO stage 1) against one process. Run as one
// process (the trivial case: the state stays in the store) and under
// mpirun -np 2, 3, 4: every rank computes the unsharded one-process
// reference itself (SingleProcess) and checks its parameters, the gathered
// state and the clipping norm against it, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dist/data_parallel.hpp"
#include "dist_test_support.hpp"
#include "train/optimizer.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Parameters of 0, 1 and 2 blocks and more, cut on and off block boundaries.
ParameterStore make_store(const std::vector<std::int64_t>& sizes) {
  ParameterStore store(5);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    Parameter& p = store.get_or_create(fmt::format("p{}", i), DType::f32, {sizes[i]}, Init::uniform(-1, 1));
    p.grad = Tensor::zeros(DType::f32, {sizes[i]});
  }
  return store;
}
const std::vector<std::int64_t> kSizes{1, 7, 40000, 0, 33, kOptimizerBlock, kOptimizerBlock + 1, 5};

// Step `step` (from 1) of 2N micro-batches; returns the clipping norm.
double train_step(DataParallel& dp, Optimizer& optimizer, int step) {
  const std::int64_t K = 2 * world().size();
  dp.begin_step(K);
  for (std::int64_t k : dp.micro_batches()) dp.run(k, [&] { return fake_backward(dp.store(), 1000 * step + k); });
  dp.end_step();
  // Clipped (the norm is ~1e6), not clipped, no clipping and no scaling.
  const double clip = step == 1 ? 1.0 : step == 2 ? 1e30 : 0.0;
  return dp.update(optimizer, {.lr = 1e-3 * step, .grad_scale = step < 3 ? 1.0 / static_cast<double>(K) : 1.0,
                               .clip = clip});
}

// Every slot of every parameter, bit for bit (and the same slots).
bool same_state(const ParameterStore& a, const ParameterStore& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto &sa = a.all()[i].state, &sb = b.all()[i].state;
    if (sa.size() != sb.size()) return false;
    for (const auto& [slot, t] : sa)
      if (!sb.count(slot) || !t.bit_equal(sb.at(slot))) return false;
  }
  return true;
}

bool holds_no_state(const ParameterStore& store) {
  for (const Parameter& p : store.all())
    if (!p.state.empty()) return false;
  return true;
}

const std::vector<std::pair<std::string, Hyperparameters>> kOptimizers{
    {"adam", {{"weight_decay", 0.1}}}, {"adamw", {{"weight_decay", 0.1}}},
    {"sgd", {{"momentum", 0.9}, {"weight_decay", 0.1}}}, {"sgd", {}}};

}  // namespace

TEST_CASE("a sharded optimizer gives one process's parameters, norms and gathered state") {
  Communicator& comm = world();
  for (const auto& [name, hyperparameters] : kOptimizers) {
    CAPTURE(name);
    ParameterStore reference_store = make_store(kSizes), store = make_store(kSizes);
    SingleProcess one;
    DataParallel reference(one, reference_store), dp(comm, store, {.shard_optimizer = true});
    CHECK(dp.shards_optimizer() == (comm.size() > 1));
    auto reference_optimizer = make_optimizer(name, hyperparameters), optimizer = make_optimizer(name, hyperparameters);
    for (int step = 1; step <= 3; ++step) {
      const double expected = train_step(reference, *reference_optimizer, step);
      const double norm = train_step(dp, *optimizer, step);
      CHECK_MESSAGE(std::memcmp(&norm, &expected, sizeof norm) == 0, "step " << step);
      CHECK_MESSAGE(same_bits(values(store), values(reference_store)), "step " << step);
      if (comm.size() > 1) CHECK(holds_no_state(store));  // it lives in the shards
      if (step == 1) continue;
      dp.gather_optimizer_state(*optimizer);  // then step 3 takes it back from rank 0's store
      if (comm.rank() == 0) CHECK_MESSAGE(same_state(store, reference_store), "step " << step);
      else CHECK(holds_no_state(store));
    }
  }
}

TEST_CASE("a sharded optimizer continues from a whole state, as after a resume") {
  Communicator& comm = world();
  ParameterStore reference_store = make_store(kSizes);
  SingleProcess one;
  DataParallel reference(one, reference_store);
  auto reference_adam = make_optimizer("adamw");
  for (int step = 1; step <= 2; ++step) train_step(reference, *reference_adam, step);
  // Every rank loads the step-2 checkpoint: values and the whole state.
  ParameterStore store = make_store(kSizes);
  for (std::size_t i = 0; i < store.size(); ++i) {
    store.all()[i].value.copy_from(reference_store.all()[i].value);
    for (const auto& [slot, t] : reference_store.all()[i].state) store.all()[i].state.emplace(slot, t.clone());
  }
  DataParallel dp(comm, store, {.shard_optimizer = true});
  const std::int64_t loaded = dp.optimizer_state_bytes();
  dp.shard_optimizer_state();  // what the trainer does right after loading
  if (comm.size() > 1) CHECK(dp.optimizer_state_bytes() < loaded);
  auto adam = make_optimizer("adamw");
  adam->set_step_count(2);
  train_step(reference, *reference_adam, 3);
  train_step(dp, *adam, 3);
  CHECK(same_bits(values(store), values(reference_store)));
  dp.gather_optimizer_state(*adam);
  if (comm.rank() == 0) CHECK(same_state(store, reference_store));
}

TEST_CASE("each rank holds about 1/N of Adam's moments, and rank 0 all of them while gathered") {
  Communicator& comm = world();
  const std::vector<std::int64_t> sizes(8, 100000);  // 800k elements: 49 blocks
  ParameterStore store = make_store(sizes);
  DataParallel dp(comm, store, {.shard_optimizer = true});
  auto adam = make_optimizer("adam");
  const std::int64_t tensors_before = tensor_bytes_live();
  train_step(dp, *adam, 1);
  const std::int64_t whole = 2 * 800000 * static_cast<std::int64_t>(sizeof(float));  // exp_avg and exp_avg_sq
  const std::int64_t mine = dp.optimizer_state_bytes();
  // Shards end on the first block boundary past n*s/N: off by less than a block at each end.
  const std::int64_t slack = 2 * kOptimizerBlock * static_cast<std::int64_t>(sizeof(float));
  CHECK(mine <= whole / comm.size() + slack);
  CHECK(mine >= whole / comm.size() - slack);
  // All the tensors the step added: the state and the shard's gradient sum
  // (half the state's size), no copies of the shard's values or gradients.
  CHECK(tensor_bytes_live() - tensors_before <= mine + whole / (2 * comm.size()) + slack);
  std::int64_t total = 0;
  for (const std::string& theirs : comm.allgather(std::to_string(mine))) total += std::stoll(theirs);
  CHECK(total == whole);
  dp.gather_optimizer_state(*adam);
  if (comm.rank() == 0 && comm.size() > 1) CHECK(dp.optimizer_state_bytes() == mine + whole);
  dp.shard_optimizer_state();  // once saved, rank 0 keeps its shard only
  CHECK(dp.optimizer_state_bytes() == mine);
  dp.gather_optimizer_state(*adam);
  train_step(dp, *adam, 2);  // or the next update takes the gathered copy back
  CHECK(dp.optimizer_state_bytes() == mine);
}

TEST_CASE("the clipping norm adds every rank's block sums in block order") {
  // Block 0 sums to 2^53 (two elements 2^26), then blocks that sum to 1
  // each: in block order every +1 is lost to rounding (2^53 + 1 is a tie,
  // to even), so the norm is exactly 2^26.5; any other order keeps them.
  Communicator& comm = world();
  const std::vector<std::int64_t> sizes{2 * kOptimizerBlock, 1, 1, 1, 1};
  ParameterStore reference_store = make_store(sizes), store = make_store(sizes);
  const auto crafted = [](ParameterStore& s) {
    float* big = s.at("p0").grad.data<float>();
    big[0] = big[1] = 0x1p26f;
    for (const char* one : {"p1", "p2", "p3", "p4"}) s.at(one).grad.data<float>()[0] = 1.0f;
    return MicroBatchResult{1.0, 1};
  };
  SingleProcess single;
  DataParallel reference(single, reference_store), dp(comm, store, {.shard_optimizer = true});
  for (DataParallel* each : {&reference, &dp}) {
    each->begin_step(comm.size());
    for (std::int64_t k : each->micro_batches())
      each->run(k, [&] { return k == 0 ? crafted(each->store()) : MicroBatchResult{1.0, 1}; });
    each->end_step();
  }
  auto sgd = make_optimizer("sgd");
  const double expected = reference.update(*sgd, {.lr = 0.1, .clip = 1.0});
  const double norm = dp.update(*sgd, {.lr = 0.1, .clip = 1.0});
  CHECK(expected == std::sqrt(0x1p53));
  CHECK(norm == expected);
  CHECK(same_bits(values(store), values(reference_store)));
}
