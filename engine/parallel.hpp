// Intra-op parallelism, supplied by the executor that runs the op.
//
// parallel_for(n, grain, body) splits [0, n) into ceil(n / grain) fixed blocks
// [k*grain, min(n, (k+1)*grain)) and calls body(begin, end) once per block,
// possibly concurrently. The split depends only on n and grain, never on the
// thread count, so a kernel that writes disjoint outputs per block — or that
// reduces per block and then combines the blocks in index order — gives the
// same bits on any number of threads.
#pragma once

#include <cstdint>
#include <functional>

namespace attograd {

using BlockBody = std::function<void(std::int64_t begin, std::int64_t end)>;

class Parallel {
 public:
  virtual ~Parallel() = default;
  virtual void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const = 0;
};

// Runs every block in order on the calling thread.
class SerialParallel final : public Parallel {
 public:
  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const override;
};

// Runs the blocks with tbb::parallel_for in the calling thread's task arena
// (inside an executor's node: its arena; elsewhere: TBB's default arena).
// The default Parallel of work done outside an executor (optimizer updates).
const Parallel& tbb_parallel();

// Number of blocks parallel_for uses for (n, grain).
inline std::int64_t block_count(std::int64_t n, std::int64_t grain) {
  return grain <= 0 ? 1 : (n + grain - 1) / grain;
}

}  // namespace attograd
