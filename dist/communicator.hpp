// Communicator: the few collectives data-parallel training needs, over the
// ranks of one job. Two implementations: a single process (size 1, no MPI:
// what every run outside a launcher gets) and Open MPI (dist/mpi_communicator.cpp,
// the only file that includes <mpi.h>).
//
//   auto comm = make_communicator();      // MPI under mpirun/srun, else one process
//   DataParallel dp(*comm, store);        // dist/data_parallel.hpp
//
// Every call is a collective: all ranks make it, in the same order.
// Calls come from one thread at a time; from a thread other than the one
// that made the communicator only when allows_other_threads() (the
// overlapped exchange's communication thread, dist/bucket_exchange.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace attograd {

// A nonblocking exchange in flight (MPI requests). Nothing moves unless
// someone calls test() or wait(): Open MPI here has no progress thread.
class PendingExchange {
 public:
  virtual ~PendingExchange() = default;
  virtual bool test() = 0;  // moves it along; true once complete
  virtual void wait() = 0;  // until complete
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "1 process" or "Open MPI, 3 ranks".
  virtual std::string describe() const = 0;

  // Every rank's `bytes`, in rank order (lengths may differ).
  virtual std::vector<std::string> allgather(const std::string& bytes) = 0;

  // The ordered reduce-scatter. `full` is this rank's whole vector of n
  // floats, n = offsets[size()]; shard s = [offsets[s], offsets[s+1]) belongs
  // to rank s. Each rank adds the size() pieces of its own shard onto `mine`
  // (offsets[r+1] - offsets[r] floats) in rank order, in float, with
  // flush-to-zero as the engine's kernels:
  //   mine[i] = ((mine[i] + piece_0[i]) + piece_1[i]) + ... + piece_{N-1}[i]
  // which is a left fold, never MPI's own (re-associated) sum.
  virtual void reduce_scatter_in_order(std::span<const float> full, std::span<float> mine,
                                       std::span<const std::int64_t> offsets) = 0;

  // The nonblocking first half of reduce_scatter_in_order for the slice
  // [lo, hi) of `full` (a bucket): the part of the slice inside shard s goes
  // to rank s, and this rank receives every rank's part of the slice inside
  // its own shard, in rank order, into `pieces` (size() pieces of
  //   m = |[lo, hi) ∩ [offsets[r], offsets[r+1])|   floats, one after the other).
  // Adding them in order (add_in_order) is the caller's, once complete.
  // `full` and `pieces` must stay untouched until then.
  virtual std::unique_ptr<PendingExchange> start_scatter_to_owners(std::span<const float> full, std::int64_t lo,
                                                                   std::int64_t hi, std::span<float> pieces,
                                                                   std::span<const std::int64_t> offsets) = 0;

  // True when another thread than the one that made it may make the calls,
  // one thread at a time (MPI_THREAD_SERIALIZED or more).
  virtual bool allows_other_threads() const = 0;

  // Every rank's shard `mine`, placed at its offsets in `full` (n floats).
  virtual void allgather_shards(std::span<const float> mine, std::span<float> full,
                                std::span<const std::int64_t> offsets) = 0;

  // The same onto rank 0 alone: its `full` (n floats) gets every shard; the
  // other ranks' `full` is not touched and may be empty.
  virtual void gather_shards(std::span<const float> mine, std::span<float> full,
                             std::span<const std::int64_t> offsets) = 0;

  // Ends every rank of the job now (after an error that only this rank saw).
  [[noreturn]] virtual void abort(int code) = 0;
};

// One process: rank 0 of 1; the collectives are copies.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string describe() const override { return "1 process"; }
  std::vector<std::string> allgather(const std::string& bytes) override { return {bytes}; }
  void reduce_scatter_in_order(std::span<const float> full, std::span<float> mine,
                               std::span<const std::int64_t> offsets) override;
  std::unique_ptr<PendingExchange> start_scatter_to_owners(std::span<const float> full, std::int64_t lo,
                                                           std::int64_t hi, std::span<float> pieces,
                                                           std::span<const std::int64_t> offsets) override;
  bool allows_other_threads() const override { return true; }
  void allgather_shards(std::span<const float> mine, std::span<float> full,
                        std::span<const std::int64_t> offsets) override;
  void gather_shards(std::span<const float> mine, std::span<float> full,
                     std::span<const std::int64_t> offsets) override {
    allgather_shards(mine, full, offsets);
  }
  [[noreturn]] void abort(int code) override;
};

// True when an MPI launcher started this process (mpirun, srun --mpi=pmix):
// OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE is set.
bool under_mpi_launcher();

// Open MPI's communicator when under a launcher, else a SingleProcess. It
// initializes MPI unless the program already did, and then finalizes it when
// destroyed (MPI cannot start again in the same process: make one per
// process). Throws Error under a launcher when this build has no MPI.
std::unique_ptr<Communicator> make_communicator();

// The pieces' in-order sum onto `mine` (n floats): pieces is count pieces
// of n floats one after the other. Flush-to-zero and denormals-are-zero are
// on while it adds, as in the parameter-gradient adds of the engine.
void add_in_order(std::span<float> mine, std::span<const float> pieces, int count);

// The part of the slice [lo, hi) inside [shard_lo, shard_hi): its length, 0
// when they do not meet.
inline std::int64_t overlap_length(std::int64_t lo, std::int64_t hi, std::int64_t shard_lo, std::int64_t shard_hi) {
  const std::int64_t a = lo > shard_lo ? lo : shard_lo, b = hi < shard_hi ? hi : shard_hi;
  return b > a ? b - a : 0;
}

}  // namespace attograd
