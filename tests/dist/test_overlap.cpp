// The exchange overlapped with backward (dist/bucket_exchange.hpp) against
// one process, bit for bit: tiny buckets (one per parameter, buckets across
// shard boundaries, empty ones), a real backward that reports final
// gradients through DataParallel::gradient_observer(), a parameter that a
// micro-batch does not use, and a backward that fails on one rank. Run as
// one process and under mpirun -np 2, 3, 4 (tests/dist/meson.build).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dist/bucket_exchange.hpp"
#include "dist/data_parallel.hpp"
#include "dist/guard.hpp"
#include "dist_test_support.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "ops/activations.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "train/optimizer.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// Bucket sizes: one parameter each (1 byte), a few small parameters each,
// parameters larger than a bucket, one bucket (DDP's 25 MiB), no overlap (the default).
const std::vector<std::int64_t> kBucketBytes{1, 200, 4096, std::int64_t{25} << 20, 0};

// Parameters of 0 elements (empty buckets), within one block, and across
// block boundaries (the shards' cuts fall inside some).
ParameterStore fake_store() {
  ParameterStore store(3);
  for (std::int64_t n : {1L, 7L, 40000L, 0L, 33L, kOptimizerBlock + 1, 0L, 5L}) {
    Parameter& p = store.get_or_create(fmt::format("p{}", store.size()), DType::f32, {n}, Init::zeros());
    p.grad = Tensor::zeros(DType::f32, {n});
  }
  return store;
}

// A small regression model on store `s`; micro-batch k runs graph `all`
// (k even) or `partial` (k odd), which does not use "w3".
//   h = tanh(x W1 + b1)   x (8, 64), W1 (64, 300)
//   z = h W2              W2 (300, 60)
//   loss = mean((z W4 - t)^2) [+ mean(z W3)]     W4 (60, 1), W3 (60, 5)
struct Model {
  Graph all, partial;
  Expr x_all, t_all, loss_all, x_partial, t_partial, loss_partial;
  Executor executor{Backend::tbb, 2};

  explicit Model(ParameterStore& s) : all(&s), partial(&s) {
    build(all, x_all, t_all, loss_all, true);
    build(partial, x_partial, t_partial, loss_partial, false);
  }

  static void build(Graph& g, Expr& x, Expr& t, Expr& loss, bool with_w3) {
    x = input(g, "x", {DType::f32, {8, 64}});
    t = input(g, "t", {DType::f32, {8, 1}});
    Expr w1 = parameter(g, "w1", {64, 300}, Init::xavier_uniform());
    Expr b1 = parameter(g, "b1", {300}, Init::uniform(-0.1, 0.1));
    Expr w2 = parameter(g, "w2", {300, 60}, Init::xavier_uniform());
    Expr w3 = with_w3 ? parameter(g, "w3", {60, 5}, Init::xavier_uniform()) : Expr{};
    Expr w4 = parameter(g, "w4", {60, 1}, Init::xavier_uniform());
    Expr z = matmul(tanh(matmul(x, w1) + b1), w2);
    Expr d = matmul(z, w4) - t;
    loss = mean(d * d);
    if (with_w3) loss = loss + mean(matmul(z, w3));
  }

  MicroBatchResult run(std::int64_t k, ExecutionObserver* observer) {
    Tensor xb = Tensor::empty(DType::f32, {8, 64}), tb = Tensor::empty(DType::f32, {8, 1});
    initialize(xb, Init::uniform(-1, 1), mix_keys(11, static_cast<std::uint64_t>(k)));
    initialize(tb, Init::uniform(-1, 1), mix_keys(13, static_cast<std::uint64_t>(k)));
    const bool odd = k % 2 != 0;
    Graph& g = odd ? partial : all;
    const Expr& loss = odd ? loss_partial : loss_all;
    RunOptions run;
    run.training = true;
    run.observer = observer;
    executor.forward(g, {{(odd ? x_partial : x_all).id, xb}, {(odd ? t_partial : t_all).id, tb}}, {loss.id}, run);
    executor.backward(loss.id);
    return {executor.value(loss.id).item(), 8};
  }
};

// An identity whose backward throws when `fail`.
class FailingBackward final : public Op {
 public:
  explicit FailingBackward(bool fail) : fail_(fail) {}
  std::string name() const override { return "failing_backward"; }
  TensorType infer(std::span<const TensorType> in) const override { return in[0]; }
  Tensor forward(OpContext& ctx) const override { return ctx.input(0); }
  std::vector<Tensor> backward(OpContext& ctx) const override {
    if (fail_) throw Error("[test] backward failed");
    return {ctx.grad_output()};
  }

 private:
  bool fail_;
};

}  // namespace

TEST_CASE("buckets hold whole parameters, last ones first, and cover the flat vector once") {
  ParameterStore store = fake_store();
  const FlatLayout layout = flat_layout(store, 2);
  for (std::int64_t bytes : {1L, 40L, 200000L, 1L << 30}) {
    const std::vector<Bucket> buckets = make_buckets(layout, bytes);
    std::int64_t hi = layout.size();
    std::size_t end = layout.params.size();
    for (const Bucket& b : buckets) {
      CHECK(b.end_param == end);
      CHECK(b.hi == hi);
      CHECK(b.first_param < b.end_param);
      CHECK((b.end_param - b.first_param == 1 || (b.hi - b.lo) * 4 <= bytes));
      CHECK(b.lo == layout.offsets[b.first_param]);
      hi = b.lo;
      end = b.first_param;
    }
    CHECK(hi == 0);
    CHECK(end == 0);
    if (bytes == 1) CHECK(buckets.size() == layout.params.size());
    if (bytes == 1L << 30) CHECK(buckets.size() == 1);
  }
}

TEST_CASE("overlapped steps with buckets of any size give one process's gradients and loss") {
  Communicator& comm = world();
  for (std::int64_t bucket_bytes : kBucketBytes) {
    ParameterStore reference_store = fake_store(), store = fake_store();
    SingleProcess one;
    DataParallel reference(one, reference_store), dp(comm, store, {.bucket_bytes = bucket_bytes});
    for (int step = 0; step < 3; ++step) {  // the first round of all is exchanged after backward: no layout yet
      const std::int64_t K = (step + 1) * comm.size();
      reference.begin_step(K);
      for (std::int64_t k : reference.micro_batches())
        reference.run(k, [&] { return fake_backward(reference_store, 100 * step + k); });
      const StepTotals expected = reference.end_step();
      dp.begin_step(K);
      for (std::int64_t k : dp.micro_batches()) dp.run(k, [&] { return fake_backward(store, 100 * step + k); });
      const StepTotals got = dp.end_step();
      CHECK_MESSAGE(same_bits(grads(store), grads(reference_store)), "bucket bytes " << bucket_bytes << ", step " << step);
      CHECK(std::memcmp(&got.loss, &expected.loss, sizeof(double)) == 0);
    }
    CHECK(dp.overlaps() == (comm.size() > 1 && bucket_bytes > 0));
  }
}

TEST_CASE("a backward that reports final gradients gives one process's bits, with a parameter unused in some micro-batches") {
  Communicator& comm = world();
  for (std::int64_t bucket_bytes : kBucketBytes) {
    for (const bool shard : {false, true}) {
      ParameterStore reference_store(9), store(9);
      Model reference_model(reference_store), model(store);
      SingleProcess one;
      DataParallel reference(one, reference_store), dp(comm, store, {.shard_optimizer = shard, .bucket_bytes = bucket_bytes});
      auto reference_adam = make_optimizer("adam", {}), adam = make_optimizer("adam", {});
      for (int step = 0; step < 3; ++step) {
        const std::int64_t K = 2 * comm.size();
        reference.begin_step(K);
        for (std::int64_t k : reference.micro_batches())
          reference.run(k, [&] { return reference_model.run(10 * step + k, reference.gradient_observer()); });
        const StepTotals expected = reference.end_step();
        dp.begin_step(K);
        for (std::int64_t k : dp.micro_batches()) dp.run(k, [&] { return model.run(10 * step + k, dp.gradient_observer()); });
        const StepTotals got = dp.end_step();
        if (!shard)
          CHECK_MESSAGE(same_bits(grads(store), grads(reference_store)), "bucket bytes " << bucket_bytes << ", step " << step);
        CHECK(std::memcmp(&got.loss, &expected.loss, sizeof(double)) == 0);
        reference.update(*reference_adam, {.lr = 1e-2, .grad_scale = 1.0 / static_cast<double>(K), .clip = 1.0});
        dp.update(*adam, {.lr = 1e-2, .grad_scale = 1.0 / static_cast<double>(K), .clip = 1.0});
        CHECK_MESSAGE(same_bits(values(store), values(reference_store)),
                      "bucket bytes " << bucket_bytes << ", sharded " << shard << ", step " << step);
      }
      if (dp.overlaps()) CHECK(dp.exchange_times().overlapped + dp.exchange_times().after_backward > 0);
    }
  }
}

TEST_CASE("a backward that fails on the last rank after buckets started ends every rank's step with its message") {
  Communicator& comm = world();
  const int last = comm.size() - 1;
  ParameterStore store(4);
  Graph g(&store);
  Expr x = input(g, "x", {DType::f32, {4, 16}});
  Expr wa = parameter(g, "wa", {16, 16}, Init::xavier_uniform());
  Graph g_fail(&store);
  Expr x_fail = input(g_fail, "x", {DType::f32, {4, 16}});
  // wb comes last, so it is bucket 0 and final (and sent) before the failing node runs.
  Expr h = matmul(x, wa), h_fail = matmul(x_fail, parameter(g_fail, "wa", {16, 16}, Init::xavier_uniform()));
  Expr wb = parameter(g, "wb", {16, 1}, Init::xavier_uniform());
  Expr loss = mean(matmul(g.add(std::make_shared<FailingBackward>(false), {h}), wb));
  Expr loss_fail = mean(matmul(g_fail.add(std::make_shared<FailingBackward>(comm.rank() == last), {h_fail}),
                               parameter(g_fail, "wb", {16, 1}, Init::xavier_uniform())));
  Executor ex(Backend::tbb, 1);
  DataParallel dp(comm, store, {.bucket_bytes = 1});
  const Tensor xb = Tensor::full(DType::f32, {4, 16}, 0.5);
  const auto run_step = [&](Graph& graph, Expr in, Expr l) {
    dp.begin_step(comm.size());
    for (std::int64_t k : dp.micro_batches())
      dp.run(k, [&] {
        RunOptions run;
        run.observer = dp.gradient_observer();
        ex.forward(graph, {{in.id, xb}}, {l.id}, run);
        ex.backward(l.id);
        return MicroBatchResult{ex.value(l.id).item(), 4};
      });
    dp.end_step();
  };
  run_step(g, x, loss);  // the layout is known from here on: the next rounds overlap
  std::string message;
  try {
    run_step(g_fail, x_fail, loss_fail);
  } catch (const Error& e) {
    message = e.what();
  }
  if (comm.size() == 1) {
    CHECK(message.find("[test] backward failed") != std::string::npos);
  } else {
    CHECK_MESSAGE(message.find(fmt::format("rank {} of {}: ", last, comm.size())) == 0, message);
    CHECK_MESSAGE(message.find("[test] backward failed") != std::string::npos, message);
  }
  run_step(g, x, loss);  // the ranks still agree on every collective
}

TEST_CASE("a second backward pass in one micro-batch with the gradient observer is refused on every rank") {
  Communicator& comm = world();
  ParameterStore store(4);
  Model model(store);
  DataParallel dp(comm, store, {.bucket_bytes = 1});
  for (int step = 0; step < 2; ++step) {
    dp.begin_step(comm.size());
    const std::int64_t k = dp.micro_batches().front();
    const auto twice = [&] {
      model.run(k, dp.gradient_observer());
      return model.run(k, dp.gradient_observer());
    };
    if (step == 0 || !dp.overlaps()) {  // no layout yet, or nothing overlaps: both passes add up, as one process does
      CHECK_NOTHROW(dp.run(k, twice));
      dp.end_step();
    } else {
      CHECK_THROWS_AS(dp.run(k, twice), AgreedError);
    }
  }
}
