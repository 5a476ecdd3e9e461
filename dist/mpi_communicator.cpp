// The Open MPI communicator: the one file of attograd that includes <mpi.h>.
//
// The ordered reduce-scatter is MPI_Alltoallv (shard s of every rank to rank
// s) followed by our own adds in rank order (add_in_order), never
// MPI_Allreduce / MPI_Reduce_scatter: MPI may re-associate a floating-point
// sum by algorithm, message size and rank count (measured here: with 3 ranks
// up to 22% of the elements differ from the rank-order sum, with 4 ranks no
// algorithm gives it). Bytes on the wire per rank: (N-1)/N of the vector for
// the reduce-scatter and again for the all-gather, as a ring allreduce.
#include <algorithm>
#include <climits>
#include <cstdlib>

#include <mpi.h>

#include <fmt/format.h>

#include "dist/communicator.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

int checked_int(std::int64_t n, const char* what) {
  if (n < 0 || n > INT_MAX) throw Error(fmt::format("[dist] {} of {} elements: beyond MPI's int counts", what, n));
  return static_cast<int>(n);
}

// One bucket's MPI_Ialltoallv; the vectors of counts must outlive it.
class MpiPendingExchange final : public PendingExchange {
 public:
  std::vector<int> send_counts, send_displs, recv_counts, recv_displs;
  MPI_Request request = MPI_REQUEST_NULL;

  ~MpiPendingExchange() override {
    if (request != MPI_REQUEST_NULL) MPI_Wait(&request, MPI_STATUS_IGNORE);  // never leave MPI writing freed memory
  }
  bool test() override {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    return done != 0;
  }
  void wait() override { MPI_Wait(&request, MPI_STATUS_IGNORE); }
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      // The thread that trains calls MPI, and during backward the overlapped
      // exchange's communication thread, never both at once; TBB's workers
      // never do: SERIALIZED asks for no locking, only that calls never overlap.
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &thread_level_);
      owns_mpi_ = true;
    } else {
      MPI_Query_thread(&thread_level_);  // the program's own MPI_Init_thread decided
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override { return fmt::format("Open MPI, {} rank{}", size_, size_ == 1 ? "" : "s"); }

  std::vector<std::string> allgather(const std::string& bytes) override {
    const int mine = checked_int(static_cast<std::int64_t>(bytes.size()), "allgather");
    std::vector<int> lengths(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
    MPI_Allgather(&mine, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_);
    std::int64_t total = 0;
    for (int s = 0; s < size_; ++s) {
      displs[static_cast<std::size_t>(s)] = checked_int(total, "allgather");
      total += lengths[static_cast<std::size_t>(s)];
    }
    std::string all(static_cast<std::size_t>(total), '\0');
    MPI_Allgatherv(bytes.data(), mine, MPI_BYTE, all.data(), lengths.data(), displs.data(), MPI_BYTE, comm_);
    std::vector<std::string> out;
    for (int s = 0; s < size_; ++s)
      out.push_back(all.substr(static_cast<std::size_t>(displs[static_cast<std::size_t>(s)]),
                               static_cast<std::size_t>(lengths[static_cast<std::size_t>(s)])));
    return out;
  }

  // Rank r sends shard s of `full` to rank s and receives every rank's piece
  // of shard r, one after the other in rank order, then adds them in order.
  void reduce_scatter_in_order(std::span<const float> full, std::span<float> mine,
                               std::span<const std::int64_t> offsets) override {
    check_offsets(offsets, full.size());
    const auto n_mine = offsets[static_cast<std::size_t>(rank_) + 1] - offsets[static_cast<std::size_t>(rank_)];
    if (static_cast<std::int64_t>(mine.size()) != n_mine) throw Error("[dist] reduce_scatter_in_order: wrong shard size");
    std::vector<int> send_counts(static_cast<std::size_t>(size_)), send_displs(send_counts.size());
    std::vector<int> recv_counts(send_counts.size()), recv_displs(send_counts.size());
    for (std::size_t s = 0; s < send_counts.size(); ++s) {
      send_counts[s] = checked_int(offsets[s + 1] - offsets[s], "a shard");
      send_displs[s] = checked_int(offsets[s], "a vector");
      recv_counts[s] = checked_int(n_mine, "a shard");
      recv_displs[s] = checked_int(static_cast<std::int64_t>(s) * n_mine, "the received pieces");
    }
    pieces_.resize(static_cast<std::size_t>(n_mine) * static_cast<std::size_t>(size_));
    MPI_Alltoallv(full.data(), send_counts.data(), send_displs.data(), MPI_FLOAT, pieces_.data(), recv_counts.data(),
                  recv_displs.data(), MPI_FLOAT, comm_);
    add_in_order(mine, pieces_, size_);
  }

  // reduce_scatter_in_order's MPI_Alltoallv restricted to the slice [lo, hi):
  // most counts are 0 when the slice lies within one or two shards.
  std::unique_ptr<PendingExchange> start_scatter_to_owners(std::span<const float> full, std::int64_t lo,
                                                           std::int64_t hi, std::span<float> pieces,
                                                           std::span<const std::int64_t> offsets) override {
    check_offsets(offsets, full.size());
    const auto r = static_cast<std::size_t>(rank_);
    const std::int64_t m = overlap_length(lo, hi, offsets[r], offsets[r + 1]);
    if (lo < 0 || hi < lo || static_cast<std::int64_t>(pieces.size()) != m * size_)
      throw Error("[dist] start_scatter_to_owners: wrong slice or pieces");
    auto x = std::make_unique<MpiPendingExchange>();
    const auto n = static_cast<std::size_t>(size_);
    x->send_counts.resize(n), x->send_displs.resize(n), x->recv_counts.resize(n), x->recv_displs.resize(n);
    for (std::size_t s = 0; s < n; ++s) {
      x->send_counts[s] = checked_int(overlap_length(lo, hi, offsets[s], offsets[s + 1]), "a bucket's part");
      x->send_displs[s] = checked_int(std::max(lo, std::min(offsets[s], hi)), "a vector");
      x->recv_counts[s] = checked_int(m, "a bucket's part");
      x->recv_displs[s] = checked_int(static_cast<std::int64_t>(s) * m, "the received pieces");
    }
    MPI_Ialltoallv(full.data(), x->send_counts.data(), x->send_displs.data(), MPI_FLOAT, pieces.data(),
                   x->recv_counts.data(), x->recv_displs.data(), MPI_FLOAT, comm_, &x->request);
    return x;
  }

  bool allows_other_threads() const override { return thread_level_ >= MPI_THREAD_SERIALIZED; }

  void allgather_shards(std::span<const float> mine, std::span<float> full,
                        std::span<const std::int64_t> offsets) override {
    check_offsets(offsets, full.size());
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(counts.size());
    for (std::size_t s = 0; s < counts.size(); ++s) {
      counts[s] = checked_int(offsets[s + 1] - offsets[s], "a shard");
      displs[s] = checked_int(offsets[s], "a vector");
    }
    MPI_Allgatherv(mine.data(), checked_int(static_cast<std::int64_t>(mine.size()), "a shard"), MPI_FLOAT,
                   full.data(), counts.data(), displs.data(), MPI_FLOAT, comm_);
  }

  void gather_shards(std::span<const float> mine, std::span<float> full,
                     std::span<const std::int64_t> offsets) override {
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(counts.size());
    if (rank_ == 0) {
      check_offsets(offsets, full.size());
      for (std::size_t s = 0; s < counts.size(); ++s) {
        counts[s] = checked_int(offsets[s + 1] - offsets[s], "a shard");
        displs[s] = checked_int(offsets[s], "a vector");
      }
    }
    MPI_Gatherv(mine.data(), checked_int(static_cast<std::int64_t>(mine.size()), "a shard"), MPI_FLOAT, full.data(),
                counts.data(), displs.data(), MPI_FLOAT, 0, comm_);
  }

  void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);  // MPI_Abort does not return; this satisfies [[noreturn]]
  }

 private:
  void check_offsets(std::span<const std::int64_t> offsets, std::size_t n) const {
    if (offsets.size() != static_cast<std::size_t>(size_) + 1 || offsets.front() != 0 ||
        offsets.back() != static_cast<std::int64_t>(n))
      throw Error(fmt::format("[dist] shard offsets must run from 0 to {} over {} ranks", n, size_));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  int thread_level_ = MPI_THREAD_SINGLE;  // what MPI provides
  bool owns_mpi_ = false;
  std::vector<float> pieces_;  // N pieces of this rank's shard, kept between steps
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace attograd
