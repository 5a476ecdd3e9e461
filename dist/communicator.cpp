#include "dist/communicator.hpp"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/parallel.hpp"
#include "engine/runners.hpp"

namespace attograd {

#ifdef ATTOGRAD_HAS_MPI
std::unique_ptr<Communicator> make_mpi_communicator();  // dist/mpi_communicator.cpp
#endif

void add_in_order(std::span<float> mine, std::span<const float> pieces, int count) {
  const auto n = static_cast<std::int64_t>(mine.size());
  constexpr std::int64_t kGrain = 1 << 15;  // elementwise: any split gives the same bits
  tbb_parallel().parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
    FlushDenormals fp;  // the mode of ParameterOp's adds (TBB resets it per task)
    for (int s = 0; s < count; ++s) {
      const float* piece = pieces.data() + static_cast<std::int64_t>(s) * n;
      for (std::int64_t i = lo; i < hi; ++i) mine[i] += piece[i];
    }
  });
}

void SingleProcess::reduce_scatter_in_order(std::span<const float> full, std::span<float> mine,
                                            std::span<const std::int64_t> offsets) {
  if (offsets.size() != 2 || full.size() != mine.size() || offsets[1] != static_cast<std::int64_t>(full.size()))
    throw Error("[dist] reduce_scatter_in_order: one process owns the whole vector");
  add_in_order(mine, full, 1);
}

namespace {
struct CompleteExchange final : PendingExchange {
  bool test() override { return true; }
  void wait() override {}
};
}  // namespace

std::unique_ptr<PendingExchange> SingleProcess::start_scatter_to_owners(std::span<const float> full, std::int64_t lo,
                                                                        std::int64_t hi, std::span<float> pieces,
                                                                        std::span<const std::int64_t> offsets) {
  if (offsets.size() != 2 || lo < 0 || hi < lo || hi > static_cast<std::int64_t>(full.size()) ||
      static_cast<std::int64_t>(pieces.size()) != hi - lo)
    throw Error("[dist] start_scatter_to_owners: one process owns the whole slice");
  if (hi > lo) std::memcpy(pieces.data(), full.data() + lo, pieces.size_bytes());
  return std::make_unique<CompleteExchange>();
}

void SingleProcess::allgather_shards(std::span<const float> mine, std::span<float> full,
                                     std::span<const std::int64_t>) {
  if (full.size() != mine.size()) throw Error("[dist] allgather_shards: one process owns the whole vector");
  if (!mine.empty()) std::memcpy(full.data(), mine.data(), mine.size_bytes());
}

void SingleProcess::abort(int code) { std::exit(code); }

bool under_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

std::unique_ptr<Communicator> make_communicator() {
  if (!under_mpi_launcher()) return std::make_unique<SingleProcess>();
#ifdef ATTOGRAD_HAS_MPI
  return make_mpi_communicator();
#else
  throw Error("[dist] started by an MPI launcher, but this attograd was built without MPI "
              "(install libopenmpi-dev and reconfigure)");
#endif
}

}  // namespace attograd
