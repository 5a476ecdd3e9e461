#include "profile/profiler.hpp"

#include <algorithm>
#include <chrono>

namespace attograd {
namespace {

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool record_order(const NodeRecord& a, const NodeRecord& b) {
  if (a.step != b.step) return a.step < b.step;
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  if (a.phase != b.phase) return a.phase < b.phase;
  return a.node < b.node;
}

}  // namespace

// Each worker appends only to its own lane. The lanes live in separate cache
// lines so that workers never share one (no false sharing between appends).
struct alignas(64) Profiler::Lane {
  std::vector<NodeRecord> events;

  // Grows geometrically so that `more` appends cannot reallocate during a run.
  void make_room(std::size_t more) {
    const std::size_t need = events.size() + more;
    if (events.capacity() < need) events.reserve(std::max(need, 2 * events.capacity()));
  }
};

std::pair<const NodeRecord*, const NodeRecord*> Profile::step_nodes(int step) const {
  auto [lo, hi] = std::equal_range(nodes.begin(), nodes.end(), NodeRecord{.step = step},
                                   [](const NodeRecord& a, const NodeRecord& b) { return a.step < b.step; });
  return {nodes.data() + (lo - nodes.begin()), nodes.data() + (hi - nodes.begin())};
}

Profiler::Profiler(ProfilerOptions options)
    : options_(options), epoch_ns_(steady_now_ns()), overflow_(std::make_unique<Lane>()) {
  options_.record_every = std::max(1, options_.record_every);
}

Profiler::~Profiler() = default;

Profiler::Lane& Profiler::lane(int worker) {
  while (lanes_.size() <= static_cast<std::size_t>(worker)) lanes_.push_back(std::make_unique<Lane>());
  return *lanes_[static_cast<std::size_t>(worker)];
}

void Profiler::on_run_begin(const RunInfo& run) {
  std::lock_guard lock(mutex_);
  run_begin_ = steady_now_ns() - epoch_ns_;
  // A backward joins the step its forward opened (another executor's
  // forward may have come in between: then it opens a step of its own).
  const bool joins_step = run.phase == Phase::backward && step_open_ && run.graph == open_graph_;
  if (!joins_step) {
    // A forward (or a backward with no forward seen) opens a new step.
    const std::size_t budget = 2 * run.graph->size();
    recording_ = seen_steps_ % options_.record_every == 0 && recorded_ + budget <= options_.max_events;
    step_open_ = true;
    open_graph_ = run.graph;
    if (recording_) {
      StepRecord s;
      s.graph = run.graph;
      s.index = seen_steps_;
      s.workers = run.workers;
      s.targets = run.phase == Phase::forward ? run.targets : std::vector<NodeId>{};
      s.retain_for_backward = run.retain_for_backward;
      s.begin_ns = s.end_ns = run_begin_;
      s.base_live_bytes = tensor_bytes_live();
      steps_.push_back(std::move(s));
    }
    ++seen_steps_;
  }
  if (!recording_) return;
  // Any worker may run every node of the pass: no lane reallocates mid-run.
  for (int w = 0; w < run.workers; ++w) lane(w).make_room(run.graph->size());
}

void Profiler::on_run_end(const RunInfo& run) {
  std::lock_guard lock(mutex_);
  if (!recording_) return;
  const std::int64_t now = steady_now_ns() - epoch_ns_;
  StepRecord& s = steps_.back();
  (run.phase == Phase::forward ? s.forward_ns : s.backward_ns) += now - run_begin_;
  s.end_ns = std::max(s.end_ns, now);
  if (run.phase == Phase::backward && !run.targets.empty()) s.backward_from = run.targets.front();
  recorded_ = overflow_->events.size();
  for (const auto& l : lanes_) recorded_ += l->events.size();
}

void Profiler::on_node(const NodeEvent& e) {
  if (!recording_) return;
  const NodeRecord r{e.node,         e.phase,      e.worker, static_cast<std::int32_t>(steps_.size() - 1),
                     e.start_ns - epoch_ns_, e.end_ns - epoch_ns_, e.bytes_out, tensor_bytes_live(),
                     e.precision};
  if (e.worker >= 0 && static_cast<std::size_t>(e.worker) < lanes_.size()) {
    lanes_[static_cast<std::size_t>(e.worker)]->events.push_back(r);
  } else {
    std::lock_guard lock(mutex_);
    overflow_->events.push_back(r);
  }
}

Profiler::Span::Span(Profiler* p, std::string name) : profiler_(p), name_(std::move(name)), start_(steady_now_ns()) {}
Profiler::Span::Span(Span&& other) noexcept
    : profiler_(other.profiler_), name_(std::move(other.name_)), start_(other.start_) {
  other.profiler_ = nullptr;
}
Profiler::Span::~Span() {
  if (profiler_ != nullptr) profiler_->record_span(std::move(name_), start_, steady_now_ns());
}

Profiler::Span Profiler::span(std::string name) { return Span(this, std::move(name)); }

void Profiler::record_span(std::string name, std::int64_t start_steady_ns, std::int64_t end_steady_ns) {
  std::lock_guard lock(mutex_);
  if (step_open_ && !recording_) return;  // belongs to a step that is not sampled
  SpanRecord s{std::move(name), -1, start_steady_ns - epoch_ns_, end_steady_ns - epoch_ns_};
  if (step_open_) {
    s.step = static_cast<std::int32_t>(steps_.size() - 1);
    steps_.back().end_ns = std::max(steps_.back().end_ns, s.end_ns);
  }
  spans_.push_back(std::move(s));
}

Profile Profiler::profile() const {
  std::lock_guard lock(mutex_);
  Profile p;
  p.steps = steps_;
  p.spans = spans_;
  p.nodes = overflow_->events;
  for (const auto& l : lanes_) p.nodes.insert(p.nodes.end(), l->events.begin(), l->events.end());
  std::sort(p.nodes.begin(), p.nodes.end(), record_order);
  std::sort(p.spans.begin(), p.spans.end(),
            [](const SpanRecord& a, const SpanRecord& b) { return a.start_ns < b.start_ns; });
  for (const StepRecord& s : p.steps) p.lanes = std::max(p.lanes, s.workers);
  for (const NodeRecord& r : p.nodes) p.lanes = std::max(p.lanes, r.worker + 1);
  return p;
}

void Profiler::clear() {
  std::lock_guard lock(mutex_);
  for (auto& l : lanes_) l->events.clear();
  overflow_->events.clear();
  steps_.clear();
  spans_.clear();
  seen_steps_ = 0;
  recording_ = false;
  step_open_ = false;
  open_graph_ = nullptr;
  recorded_ = 0;
}

std::size_t Profiler::event_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = overflow_->events.size();
  for (const auto& l : lanes_) n += l->events.size();
  return n;
}

}  // namespace attograd
