#include "dist/data_parallel.hpp"

#include <chrono>
#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "dist/guard.hpp"
#include "engine/error.hpp"

namespace attograd {

DataParallel::DataParallel(Communicator& comm, ParameterStore& store, DataParallelOptions options)
    : comm_(comm), store_(store), options_(options) {}

void DataParallel::check_accumulate(std::int64_t accumulate) const {
  if (accumulate < 1 || accumulate % size() != 0)
    throw AgreedError(fmt::format("[dist] {} ranks cannot share {} micro-batch{} a step: the number of ranks must divide "
                            "--accumulate (run with --accumulate {} or a multiple of it, or with fewer ranks)",
                            size(), accumulate, accumulate == 1 ? "" : "es", size()),
                      rank() == 0);  // every rank reaches this verdict
}

void DataParallel::begin_step(std::int64_t accumulate) {
  check_accumulate(accumulate);
  accumulate_ = accumulate;
  results_.clear();
  times_ = {};
  if (size() == 1) store_.zero_grad();  // one process: the micro-batches add straight into the store
}

std::vector<std::int64_t> DataParallel::micro_batches() const {
  std::vector<std::int64_t> ks;
  for (std::int64_t k = rank(); k < accumulate_; k += size()) ks.push_back(k);
  return ks;
}

void DataParallel::run(std::int64_t k, const std::function<MicroBatchResult()>& forward_backward) {
  if (size() == 1) {
    results_.push_back(forward_backward());
    return;
  }
  const auto expected = rank() + static_cast<std::int64_t>(results_.size()) * size();  // the fold's order
  if (k != expected || k >= accumulate_)
    throw Error(fmt::format("[dist] rank {} runs micro-batch {} next, not {} (DataParallel::micro_batches(), in order)",
                            rank(), expected, k));
  const bool first_round = results_.empty();
  const auto r = static_cast<std::size_t>(rank());
  const auto zero_shard = [&] { return Tensor::zeros(DType::f32, {layout_.shards[r + 1] - layout_.shards[r]}); };
  // Overlapped once a layout is known (from an earlier round, so the same on every rank).
  const bool overlapped = exchange_ != nullptr;
  if (overlapped && first_round) shard_sum_ = zero_shard();  // +0, as the fold starts
  run_on_all(comm_, [&] {
    store_.zero_grad();  // the buffer becomes +0 + d_k: this micro-batch's term of the fold alone
    if (overlapped) return forward_backward_overlapped(forward_backward);
    results_.push_back(forward_backward());
  });
  const bool changed = layout();
  if (changed && !first_round) throw AgreedError("[dist] parameters were created in the middle of a step", rank() == 0);
  if (overlapped && !changed) return;  // the buckets are exchanged and added
  // The whole exchange after backward: no overlap, or the first round of a
  // layout (this round's buckets, if any, missed the new parameters).
  if (first_round) shard_sum_ = zero_shard();  // +0
  if (exchange_) {  // the new layout's buckets, all final: no second receive buffer
    exchange_->open_round(shard_sum_.span<float>());
    times_.after_backward += exchange_->close_round().after_backward;
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  pack_grads(layout_, flat_);
  comm_.reduce_scatter_in_order(flat_, shard_sum_.span<float>(), layout_.shards);
  times_.after_backward += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The round's buckets start as the observer reports their gradients final;
// every one is sent, even when forward_backward throws, before the
// agreement that follows (run_on_all): the other ranks wait in them.
void DataParallel::forward_backward_overlapped(const std::function<MicroBatchResult()>& forward_backward) {
  exchange_->open_round(shard_sum_.span<float>());
  try {
    results_.push_back(forward_backward());
  } catch (...) {
    try {
      exchange_->close_round();
    } catch (...) {  // the micro-batch's own error is the one to report
    }
    throw;
  }
  const RoundTimes t = exchange_->close_round();
  times_.overlapped += t.overlapped;
  times_.after_backward += t.after_backward;
}

ExecutionObserver* DataParallel::gradient_observer(ExecutionObserver* next) {
  if (!overlaps()) return next;
  if (!observer_) observer_ = std::make_unique<GradientObserver>(layout_, store_);
  observer_->set_exchange(exchange_.get());
  observer_->set_next(next);
  return observer_.get();
}

StepTotals DataParallel::end_step() {
  StepTotals t;
  const auto K = static_cast<double>(accumulate_);
  if (size() == 1) {
    for (const MicroBatchResult& m : results_) {
      t.loss += m.loss / K;
      t.tokens += m.tokens;
    }
    return t;
  }
  if (shards_optimizer()) {
    gradient_sharded_ = true;
  } else {
    comm_.allgather_shards(shard_sum_.span<float>(), flat_, layout_.shards);
    unpack_grads(layout_, flat_);
  }
  // Every rank's results, then the one process's order: k = j*N + r.
  const std::string mine(reinterpret_cast<const char*>(results_.data()), results_.size() * sizeof(MicroBatchResult));
  const auto all = comm_.allgather(mine);
  const auto per_rank = results_.size();
  for (std::size_t j = 0; j < per_rank; ++j) {
    for (const std::string& theirs : all) {
      MicroBatchResult m;
      std::memcpy(&m, theirs.data() + j * sizeof(MicroBatchResult), sizeof m);
      t.loss += m.loss / K;
      t.tokens += m.tokens;
    }
  }
  return t;
}

double DataParallel::update(Optimizer& optimizer, const UpdateOptions& options) {
  if (!shards_optimizer()) {
    if (options.grad_scale != 1) scale_grads(store_, options.grad_scale);
    const double norm = options.clip > 0 ? clip_grad_norm(store_, options.clip) : 0.0;
    optimizer.step(store_, options.lr);
    return norm;
  }
  if (!gradient_sharded_)
    throw Error("[dist] DataParallel::update: no step's gradient to apply (begin_step, run, end_step first)");
  gradient_sharded_ = false;
  take_optimizer_state();
  // shard_sum_ holds this rank's shard of G and receives its updated values.
  const double norm = shard_->update(comm_, optimizer, shard_sum_, options);
  comm_.allgather_shards(shard_sum_.span<float>(), flat_, layout_.shards);
  unpack_values(layout_, flat_);
  return norm;
}

void DataParallel::gather_optimizer_state(const Optimizer& optimizer) {
  if (!shards_optimizer()) return;
  if (!shard_) layout();
  take_optimizer_state();
  shard_->gather_state(comm_, layout_, optimizer, flat_);
}

std::int64_t DataParallel::optimizer_state_bytes() const {
  std::int64_t bytes = shard_ ? shard_->state_bytes() : 0;
  for (const Parameter& p : store_.all())
    for (const auto& [slot, t] : p.state) bytes += static_cast<std::int64_t>(t.nbytes());
  return bytes;
}

void DataParallel::shard_optimizer_state() {
  if (!shards_optimizer()) return;
  if (!shard_) layout();
  take_optimizer_state();
}

void DataParallel::take_optimizer_state() { shard_->take_state(layout_); }

bool DataParallel::layout() {
  FlatLayout fresh;
  try {
    fresh = flat_layout(store_, size());
  } catch (const Error& e) {
    throw AgreedError(e.what(), rank() == 0);  // the same store on every rank
  }
  if (fresh == layout_) return false;
  exchange_.reset();  // its thread is idle between rounds; its buckets are the old layout's
  layout_ = std::move(fresh);
  flat_.assign(static_cast<std::size_t>(layout_.size()), 0.0f);
  if (overlaps() && !layout_.params.empty())
    exchange_ = std::make_unique<BucketExchange>(comm_, layout_, options_.bucket_bytes, flat_);
  if (observer_) observer_->set_exchange(exchange_.get());
  if (shards_optimizer()) {
    if (shard_ && shard_->has_state())  // every rank's verdict is the same: no rank skips the collectives
      throw AgreedError("[dist] parameters were created after the first update of a sharded optimizer: its state "
                        "is cut by the first layout", rank() == 0);
    shard_ = std::make_unique<OptimizerShard>(layout_, rank());
  }
  return true;
}

}  // namespace attograd
