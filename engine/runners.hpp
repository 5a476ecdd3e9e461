// How ready nodes get run: one strategy per executor backend.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/executor.hpp"
#include "engine/parallel.hpp"

namespace attograd {

using Spawn = std::function<void(NodeId)>;
// Runs one node, then calls spawn(m) for each node m it made ready.
// `worker` is the 0-based slot of the thread running it.
using NodeBody = std::function<void(NodeId node, int worker, const Spawn& spawn)>;

class TaskRunner : public Parallel {
 public:
  // Runs body on each initial node and everything spawned, until none is
  // left. The first exception thrown by a body cancels the run and is
  // rethrown here once every running body has returned.
  virtual void run(const std::vector<NodeId>& initial, const NodeBody& body) = 0;
};

std::unique_ptr<TaskRunner> make_sequential_runner();
std::unique_ptr<TaskRunner> make_tbb_runner(int threads);
std::unique_ptr<TaskRunner> make_thread_runner(int threads);

// Sets flush-to-zero and denormals-are-zero on this thread for its lifetime
// (denormals slowed sgemm 7x in a diverging run), restoring the old mode.
class FlushDenormals {
 public:
  FlushDenormals();
  ~FlushDenormals();
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
 private:
  unsigned saved_;
};

}  // namespace attograd
