// Written by hand rather than through a JSON DOM: a trace can hold hundreds
// of thousands of events, streamed here in one pass. Every string goes
// through escape_json (labels come from user scope names).
#include "profile/chrome_trace.hpp"

#include <fstream>
#include <ostream>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "profile/profile_util.hpp"

namespace attograd {

using namespace profile_util;

namespace {

constexpr int kPid = 1;

class TraceWriter {
 public:
  explicit TraceWriter(std::ostream& out) : out_(out) {}
  ~TraceWriter() { flush(); }

  void event(const std::string& body) {
    buffer_ += first_ ? "\n" : ",\n";
    first_ = false;
    buffer_ += body;
    if (buffer_.size() > (1u << 16)) flush();
  }
  void raw(const std::string& text) { buffer_ += text; }
  void flush() {
    out_ << buffer_;
    buffer_.clear();
  }

 private:
  std::ostream& out_;
  std::string buffer_;
  bool first_ = true;
};

std::string thread_name(int tid, const std::string& name) {
  return fmt::format(R"({{"name": "thread_name", "ph": "M", "pid": {}, "tid": {}, "args": {{"name": "{}"}}}})", kPid,
                     tid, escape_json(name));
}

std::string complete_event(const std::string& name, const char* cat, std::int64_t start_ns, std::int64_t end_ns,
                           int tid, const std::string& args) {
  return fmt::format(R"({{"name": "{}", "cat": "{}", "ph": "X", "ts": {:.3f}, "dur": {:.3f}, "pid": {}, "tid": {}, )"
                     R"("args": {{{}}}}})",
                     escape_json(name), cat, static_cast<double>(start_ns) / 1e3,
                     static_cast<double>(end_ns - start_ns) / 1e3, kPid, tid, args);
}

std::string node_event(const Profile& p, const NodeRecord& r, CostCache& costs) {
  const Graph& g = *p.steps[static_cast<std::size_t>(r.step)].graph;
  const Node& node = g.node(r.node);
  const Cost& c = costs.of(g)[static_cast<std::size_t>(r.node)];
  const bool fwd = r.phase == Phase::forward;
  const std::string detail = node.op->describe();
  const std::string args = fmt::format(
      R"("scope": "{}", "node": {}, "step": {}, "shape": "{}", "precision": "{}", "flops": {}, "bytes_out": {}{})",
      escape_json(node.label), r.node, p.steps[static_cast<std::size_t>(r.step)].index,
      escape_json(to_string(node.type)), precision_name(r.precision), fwd ? c.forward_flops : c.backward_flops,
      r.bytes_out,
      detail.empty() ? std::string() : fmt::format(R"(, "attributes": "{}")", escape_json(detail)));
  return complete_event(node.op->name(), phase_name(r.phase), r.start_ns, r.end_ns, r.worker, args);
}

bool step_selected(int step, int every) { return step < 0 || step % every == 0; }

}  // namespace

std::size_t write_chrome_trace(const Profile& p, std::ostream& out, const TraceOptions& options) {
  const int every = std::max(1, options.every_step);
  const int caller_lane = p.lanes;
  CostCache costs;
  std::size_t written = 0, dropped = 0;
  {
    TraceWriter w(out);
    w.raw(R"({"traceEvents": [)");
    w.event(fmt::format(R"({{"name": "process_name", "ph": "M", "pid": {}, "args": {{"name": "attograd"}}}})", kPid));
    for (int t = 0; t < p.lanes; ++t) w.event(thread_name(t, fmt::format("worker {}", t)));
    w.event(thread_name(caller_lane, "caller"));
    for (const NodeRecord& r : p.nodes) {
      if (!step_selected(r.step, every)) continue;
      if (written >= options.max_events) {
        ++dropped;
        continue;
      }
      w.event(node_event(p, r, costs));
      ++written;
    }
    for (const SpanRecord& s : p.spans) {
      if (!step_selected(s.step, every)) continue;
      if (written >= options.max_events) {
        ++dropped;
        continue;
      }
      const int step = s.step < 0 ? -1 : p.steps[static_cast<std::size_t>(s.step)].index;
      w.event(complete_event(s.name, "span", s.start_ns, s.end_ns, caller_lane, fmt::format(R"("step": {})", step)));
      ++written;
    }
    w.raw(fmt::format("\n], \"displayTimeUnit\": \"ms\", \"otherData\": {{\"written_events\": {}, "
                      "\"dropped_events\": {}, \"every_step\": {}}}}}\n",
                      written, dropped, every));
  }
  if (!out) throw FileError("[trace] writing the Chrome trace failed");
  return written;
}

std::size_t write_chrome_trace(const Profile& p, const std::string& path, const TraceOptions& options) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw FileError(fmt::format("[trace] cannot open '{}' for writing", path));
  const std::size_t n = write_chrome_trace(p, f, options);
  f.close();
  if (!f) throw FileError(fmt::format("[trace] writing '{}' failed", path));
  return n;
}

}  // namespace attograd
