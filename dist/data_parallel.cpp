#include "dist/data_parallel.hpp"

#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "dist/guard.hpp"
#include "engine/error.hpp"

namespace attograd {

DataParallel::DataParallel(Communicator& comm, ParameterStore& store) : comm_(comm), store_(store) {}

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
  run_on_all(comm_, [&] {
    store_.zero_grad();  // the buffer becomes +0 + d_k: this micro-batch's term of the fold alone
    results_.push_back(forward_backward());
  });
  const bool first_round = results_.size() == 1;
  if (layout() && !first_round) throw AgreedError("[dist] parameters were created in the middle of a step", rank() == 0);
  pack();
  if (first_round) shard_sum_.assign(static_cast<std::size_t>(shards_[rank() + 1] - shards_[rank()]), 0.0f);  // +0
  comm_.reduce_scatter_in_order(flat_, shard_sum_, shards_);
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
  comm_.allgather_shards(shard_sum_, flat_, shards_);
  unpack();
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

bool DataParallel::layout() {
  std::vector<Parameter*> params;
  std::vector<std::int64_t> offsets{0};
  for (Parameter& p : store_.all()) {
    if (!p.trainable) continue;
    if (p.grad.dtype() != DType::f32 || p.grad.numel() != p.value.numel())
      throw AgreedError(fmt::format("[dist] parameter '{}' needs an f32 gradient of its size to be trained on "
                                    "several ranks", p.name), rank() == 0);  // the same store on every rank
    params.push_back(&p);
    offsets.push_back(offsets.back() + p.grad.numel());
  }
  if (params == params_ && offsets == offsets_) return false;
  params_ = std::move(params);
  offsets_ = std::move(offsets);
  const std::int64_t n = offsets_.back(), N = size();
  shards_.clear();
  for (std::int64_t s = 0; s <= N; ++s) shards_.push_back(n * s / N);  // balanced by elements
  flat_.assign(static_cast<std::size_t>(n), 0.0f);
  return true;
}

void DataParallel::pack() {
  for (std::size_t i = 0; i < params_.size(); ++i)
    std::memcpy(flat_.data() + offsets_[i], params_[i]->grad.raw(), params_[i]->grad.nbytes());
}

void DataParallel::unpack() {
  for (std::size_t i = 0; i < params_.size(); ++i)
    std::memcpy(params_[i]->grad.raw(), flat_.data() + offsets_[i], params_[i]->grad.nbytes());
}

}  // namespace attograd
