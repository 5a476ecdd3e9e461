// The distributed layer against one process. Run as one process (N = 1)
// and under mpirun -np 2, 3, 4 (tests/dist/meson.build): every rank computes
// the one-process reference itself (SingleProcess) and checks its own
// results against it, bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/guard.hpp"
#include "dist_test_support.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// A store with parameters of sizes not divisible by the rank count.
ParameterStore make_store() {
  ParameterStore store(3);
  for (std::int64_t n : {1, 7, 1000, 33, 5}) {
    Parameter& p = store.get_or_create(fmt::format("p{}", n), DType::f32, {n}, Init::zeros());
    p.grad = Tensor::zeros(DType::f32, {n});
  }
  return store;
}

}  // namespace

TEST_CASE("the ordered reduce-scatter and all-gather give the left fold in rank order") {
  Communicator& comm = world();
  const std::int64_t N = comm.size();
  for (std::int64_t n : {0L, 1L, N - 1, 10L, 10007L}) {
    if (n < 0) continue;
    std::vector<std::int64_t> offsets;
    for (std::int64_t s = 0; s <= N; ++s) offsets.push_back(n * s / N);
    std::vector<float> mine_full(static_cast<std::size_t>(n)), fold(static_cast<std::size_t>(n), 0.0f);
    {
      FlushDenormals fp;
      for (std::int64_t r = 0; r < N; ++r)
        for (std::int64_t i = 0; i < n; ++i) fold[static_cast<std::size_t>(i)] += term(r, i);
    }
    for (std::int64_t i = 0; i < n; ++i) mine_full[static_cast<std::size_t>(i)] = term(comm.rank(), i);
    const auto lo = offsets[static_cast<std::size_t>(comm.rank())], hi = offsets[static_cast<std::size_t>(comm.rank()) + 1];
    std::vector<float> shard(static_cast<std::size_t>(hi - lo), 0.0f), result(static_cast<std::size_t>(n), 1.0f);
    comm.reduce_scatter_in_order(mine_full, shard, offsets);
    comm.allgather_shards(shard, result, offsets);
    CHECK_MESSAGE(same_bits(result, fold), "n = " << n << ", ranks = " << N);
  }
}

TEST_CASE("a data-parallel step gives one process's gradients, loss and tokens for K = N, 2N, 3N") {
  Communicator& comm = world();
  for (std::int64_t K : {1L * comm.size(), 2L * comm.size(), 3L * comm.size()}) {
    ParameterStore reference_store = make_store(), store = make_store();
    SingleProcess one;
    DataParallel reference(one, reference_store), dp(comm, store);
    reference.begin_step(K);
    for (std::int64_t k : reference.micro_batches()) reference.run(k, [&] { return fake_backward(reference_store, k); });
    const StepTotals expected = reference.end_step();
    dp.begin_step(K);
    CHECK(dp.micro_batches().size() == static_cast<std::size_t>(K / comm.size()));
    for (std::int64_t k : dp.micro_batches()) dp.run(k, [&] { return fake_backward(store, k); });
    const StepTotals got = dp.end_step();
    CHECK_MESSAGE(same_bits(grads(store), grads(reference_store)), "K = " << K);
    CHECK(std::memcmp(&got.loss, &expected.loss, sizeof(double)) == 0);
    CHECK(got.tokens == expected.tokens);
  }
}

TEST_CASE("an error on the last rank reaches every rank, naming it, before any exchange") {
  Communicator& comm = world();
  ParameterStore store = make_store();
  DataParallel dp(comm, store);
  dp.begin_step(comm.size());
  const std::int64_t k = dp.micro_batches().front();
  const int last = comm.size() - 1;
  std::string message;
  try {
    dp.run(k, [&]() -> MicroBatchResult {
      if (comm.rank() == last) throw Error("[test] NaN in node 12");
      return fake_backward(store, k);
    });
  } catch (const Error& e) {
    message = e.what();
  }
  if (comm.size() == 1) {
    CHECK(message == "[test] NaN in node 12");  // one process: the exception itself
  } else {
    CHECK(message == fmt::format("rank {} of {}: [test] NaN in node 12", last, comm.size()));
  }
}

TEST_CASE("ranks that differ in a fact are refused, naming the fact and both values") {
  Communicator& comm = world();
  const int last = comm.size() - 1;
  const Facts facts{{"train.lr", comm.rank() == last ? "0.5" : "1"}, {"seed", "7"}};
  std::string message;
  bool printed_here = false;
  try {
    require_identical(comm, facts);
  } catch (const AgreedError& e) {
    message = e.what();
    printed_here = e.print_here();
  }
  if (comm.size() == 1) {
    CHECK(message.empty());
  } else {
    CHECK(message.find(fmt::format("rank {} has train.lr = '0.5', rank 0 has '1'", last)) != std::string::npos);
    CHECK(printed_here == (comm.rank() == 0));
  }
  CHECK_NOTHROW(require_identical(comm, {{"seed", "7"}}));
}

TEST_CASE("a rank count that does not divide the micro-batches is refused on every rank") {
  Communicator& comm = world();
  ParameterStore store = make_store();
  DataParallel dp(comm, store);
  if (comm.size() == 1) {
    CHECK_NOTHROW(dp.check_accumulate(3));
  } else {
    CHECK_THROWS_WITH_AS(dp.check_accumulate(comm.size() + 1),
                         doctest::Contains("ranks cannot share"), AgreedError);
  }
}

TEST_CASE("micro-batches out of the fold's order are refused on several ranks") {
  Communicator& comm = world();
  if (comm.size() == 1) return;  // one process adds in the order it runs them
  ParameterStore store = make_store();
  DataParallel dp(comm, store);
  dp.begin_step(2 * comm.size());
  const std::int64_t second = dp.micro_batches().at(1);
  CHECK_THROWS_WITH_AS(dp.run(second, [&] { return fake_backward(store, second); }),
                       doctest::Contains("runs micro-batch"), Error);
}
