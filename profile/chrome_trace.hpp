// Chrome Trace Event JSON of a Profile, for Perfetto (ui.perfetto.dev) and
// chrome://tracing:
//
//   {"traceEvents": [
//     {"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "worker 0"}},
//     {"name": "add", "cat": "forward", "ph": "X", "ts": 12.5, "dur": 3.25, "pid": 1, "tid": 0,
//      "args": {"scope": "encoder.layers.0.add", "node": 7, "step": 0, "shape": "f32(2, 3)", "flops": 6}},
//     ...]}
//
// One lane (tid) per worker thread, plus a lane "caller" for spans such as
// "optimizer.step". ts and dur are microseconds since the profiler started.
//
//   std::ofstream f("trace.json");
//   write_chrome_trace(profiler.profile(), f, {.every_step = 10});
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>

#include "profile/profiler.hpp"

namespace attograd {

struct TraceOptions {
  std::size_t max_events = 200'000;  // node and span events written at most (about 250 bytes each)
  int every_step = 1;                // write one recorded step in k
};

// Returns the number of node and span events written.
std::size_t write_chrome_trace(const Profile& p, std::ostream& out, const TraceOptions& options = {});
// Writes to a file; throws FileError if it cannot be written.
std::size_t write_chrome_trace(const Profile& p, const std::string& path, const TraceOptions& options = {});

}  // namespace attograd
