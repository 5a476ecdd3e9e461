#include "dist/optimizer_shard.hpp"

#include <algorithm>
#include <cstring>

#include "engine/error.hpp"

namespace attograd {
namespace {

float* floats(Tensor& t) { return t.data<float>(); }
const float* floats(const Tensor& t) { return t.data<float>(); }

}  // namespace

OptimizerShard::OptimizerShard(const FlatLayout& layout, int rank) {
  const std::int64_t lo = layout.shards.at(static_cast<std::size_t>(rank));
  const std::int64_t hi = layout.shards.at(static_cast<std::size_t>(rank) + 1);
  shard_size_ = hi - lo;
  for (std::size_t i = 0; i < layout.params.size(); ++i) {
    const std::int64_t begin = std::max(lo, layout.offsets[i]), end = std::min(hi, layout.offsets[i + 1]);
    if (begin >= end) continue;
    Parameter* whole = layout.params[i];
    Parameter& piece = pieces_.get_or_create(whole->name, DType::f32, {0}, Init::zeros());
    piece.value = piece.grad = Tensor();  // aliases during update() alone
    where_.push_back({whole, begin - layout.offsets[i], end - layout.offsets[i], begin - lo});
  }
}

void OptimizerShard::take_state(const FlatLayout& layout) {
  bool any = false;
  for (const Parameter* p : layout.params) any = any || !p->state.empty();
  if (!any) return;
  auto piece = pieces_.all().begin();
  for (const Piece& w : where_) {
    piece->state.clear();
    for (const auto& [slot, full] : w.whole->state) {
      Tensor mine = Tensor::empty(DType::f32, {w.end - w.begin});
      std::memcpy(mine.raw(), floats(full) + w.begin, mine.nbytes());
      piece->state.emplace(slot, std::move(mine));
    }
    ++piece;
  }
  for (Parameter* p : layout.params) p->state.clear();
  has_state_ = true;
}

double OptimizerShard::update(Communicator& comm, Optimizer& optimizer, Tensor& shard, const UpdateOptions& options) {
  if (shard.dtype() != DType::f32 || shard.numel() != shard_size_)
    throw Error("[dist] OptimizerShard::update: the gradient must be this rank's shard, in f32");
  auto piece = pieces_.all().begin();
  for (const Piece& w : where_) {
    const Shape elements{w.end - w.begin};
    piece->value = Tensor::alias(w.whole->value, w.begin, elements);
    piece->grad = Tensor::alias(shard, w.at, elements);
    ++piece;
  }
  if (options.grad_scale != 1) scale_grads(pieces_, options.grad_scale);
  double norm = 0;
  if (options.clip > 0) {
    // Every rank's block sums, rank after rank: the blocks in store order.
    const std::vector<double> mine = grad_block_sums(pieces_);
    const auto all = comm.allgather(std::string(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(double)));
    std::vector<double> sums;
    for (const std::string& theirs : all) {
      const std::size_t at = sums.size();
      sums.resize(at + theirs.size() / sizeof(double));
      std::memcpy(sums.data() + at, theirs.data(), theirs.size());
    }
    norm = norm_of_block_sums(sums);
    clip_grads_to(pieces_, norm, options.clip);
  }
  optimizer.step(pieces_, options.lr);
  has_state_ = has_state_ || !optimizer.state_slots().empty();
  // The gradient is spent: its storage carries the updated values to the all-gather.
  for (Parameter& p : pieces_.all()) {
    p.grad.copy_from(p.value);
    p.value = p.grad = Tensor();
  }
  return norm;
}

void OptimizerShard::gather_state(Communicator& comm, const FlatLayout& layout, const Optimizer& optimizer,
                                  std::span<float> scratch) {
  if (!has_state_) return;
  std::vector<float> mine(static_cast<std::size_t>(shard_size_));
  for (const std::string& slot : optimizer.state_slots()) {
    auto piece = pieces_.all().begin();
    for (const Piece& w : where_) {
      const Tensor& t = piece->state.at(slot);
      std::memcpy(mine.data() + w.at, floats(t), t.nbytes());
      ++piece;
    }
    comm.gather_shards(mine, scratch, layout.shards);
    if (comm.rank() != 0) continue;
    for (std::size_t i = 0; i < layout.params.size(); ++i) {
      Parameter& p = *layout.params[i];
      Tensor full = Tensor::empty(DType::f32, p.value.shape());
      std::memcpy(full.raw(), scratch.data() + layout.offsets[i], full.nbytes());
      p.state.insert_or_assign(slot, std::move(full));
    }
  }
}

std::int64_t OptimizerShard::state_bytes() const {
  std::int64_t bytes = 0;
  for (const Parameter& piece : pieces_.all())
    for (const auto& [slot, t] : piece.state) bytes += static_cast<std::int64_t>(t.nbytes());
  return bytes;
}

}  // namespace attograd
