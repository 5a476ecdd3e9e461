// exchange_timing: the ordered gradient exchange of dist/ (MPI_Alltoallv,
// adds in rank order, MPI_Allgatherv) against one MPI_Allreduce(SUM) of the
// same float buffer, interleaved, each timed as the slowest rank's time
// after a barrier; and how many elements the allreduce's sum differs in.
//
//   mpirun -np 2 build/bench/exchange_timing [FLOATS=14700000] [REPEATS=7]
//
// FLOATS defaults to the copy task's parameter count. A measurement tool: it
// calls MPI_Allreduce itself, as the reference, outside dist/.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "dist/communicator.hpp"
#include "engine/rng.hpp"

using namespace attograd;

namespace {

double slowest(double seconds) {
  double max = 0;
  MPI_Allreduce(&seconds, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return max;
}

template <class F>
double timed(const F& f) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  f();
  return slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void print(const char* what, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  fmt::print("{:<34} median {:8.1f} ms   min {:8.1f} ms\n", what, ms[ms.size() / 2], ms.front());
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 14'700'000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  auto comm = make_communicator();
  const int N = comm->size(), r = comm->rank();
  std::vector<std::int64_t> offsets;
  for (std::int64_t s = 0; s <= N; ++s) offsets.push_back(n * s / N);
  std::vector<float> mine(static_cast<std::size_t>(n)), ordered(mine.size()), reduced(mine.size());
  for (std::int64_t i = 0; i < n; ++i) {  // 6 decades, random signs
    const std::uint64_t h = mix_keys(static_cast<std::uint64_t>(r) + 1, static_cast<std::uint64_t>(i));
    mine[static_cast<std::size_t>(i)] = static_cast<float>(((h & 1) ? 1.0 : -1.0) * static_cast<double>(h % 1000000 + 1) * 1e-6);
  }
  std::vector<float> shard(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r) + 1] - offsets[static_cast<std::size_t>(r)]));
  std::vector<double> t_ordered, t_allreduce;
  for (int k = 0; k < repeats; ++k) {
    t_ordered.push_back(1e3 * timed([&] {
      std::fill(shard.begin(), shard.end(), 0.0f);
      comm->reduce_scatter_in_order(mine, shard, offsets);
      comm->allgather_shards(shard, ordered, offsets);
    }));
    t_allreduce.push_back(1e3 * timed([&] {
      MPI_Allreduce(mine.data(), reduced.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }));
  }
  std::int64_t differ = 0;
  for (std::size_t i = 0; i < mine.size(); ++i) differ += std::memcmp(&ordered[i], &reduced[i], sizeof(float)) != 0;
  if (r == 0) {
    fmt::print("{} ranks, {} floats ({:.1f} MB), {} repeats, interleaved\n", N, n, 4e-6 * static_cast<double>(n), repeats);
    print("ordered exchange (dist/)", t_ordered);
    print("MPI_Allreduce(SUM), default", t_allreduce);
    fmt::print("elements where MPI_Allreduce differs from the rank-order sum: {} of {}\n", differ, n);
  }
  return 0;
}
