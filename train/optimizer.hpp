// Optimizers: update every trainable parameter of a ParameterStore from its
// accumulated gradient. The math is PyTorch's (torch.optim.SGD, Adam, AdamW as
// documented, bias correction included); the state lives in Parameter::state
// under PyTorch's slot names, so "optimizer.<param>.exp_avg" in a checkpoint
// is exactly PyTorch's state[param]["exp_avg"].
//
//   auto opt = make_optimizer("adam", {{"beta2", 0.98}, {"eps", 1e-9}});
//   for (step = 1; ...; ++step) {
//     store.zero_grad();
//     for (k micro-batches) { ex.forward(...); ex.backward(loss); }  // grads add up
//     scale_grads(store, 1.0 / k);                                    // mean over micro-batches
//     clip_grad_norm(store, 1.0);
//     opt->step(store, learning_rate(schedule, step));
//   }
//
// Only parameters with trainable == true are read or written. Updates run in
// parallel over fixed blocks of elements, through the Parallel given (TBB's
// by default; SerialParallel or an executor's work as well); every element's
// update depends only on that element, so the result is bit-identical for any
// Parallel and thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "train/hyperparameters.hpp"
#include "engine/parallel.hpp"
#include "engine/parameters.hpp"

namespace attograd {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // "sgd", "adam", "adamw": the name make_optimizer() accepts.
  virtual std::string name() const = 0;
  // Everything but the learning rate; make_optimizer(name(), hyperparameters())
  // rebuilds an equivalent optimizer (that is how checkpoints restore it).
  virtual Hyperparameters hyperparameters() const = 0;

  // One update with learning rate `lr` (>= 0). Increments step_count() first,
  // so the first update is step 1 (Adam's bias correction counts from 1).
  // Missing state slots are created as zeros in the parameter's dtype.
  void step(ParameterStore& store, double lr, const Parallel& parallel = tbb_parallel());

  // Updates taken so far; restored from a checkpoint with set_step_count().
  std::int64_t step_count() const { return steps_; }
  void set_step_count(std::int64_t steps);

  // The state slots it keeps per trainable parameter ("exp_avg", ...; none for plain SGD).
  std::vector<std::string> state_slots() const { return slots(); }

 protected:
  // State slots this optimizer keeps per parameter ("exp_avg", ...).
  virtual std::vector<std::string> slots() const = 0;
  // Updates elements [begin, end) of `p` for step number `step`. Called
  // concurrently on disjoint ranges, after every slot exists.
  virtual void update(Parameter& p, std::int64_t begin, std::int64_t end, double lr, std::int64_t step) const = 0;

 private:
  std::int64_t steps_ = 0;
};

// torch.optim.SGD with dampening 0 and nesterov off:
//   g = grad + weight_decay * p
//   b = momentum * b + g        (b = g at the first step: the buffer starts at 0)
//   p = p - lr * b              (p - lr * g when momentum == 0: no buffer kept)
struct SgdOptions {
  double momentum = 0;
  double weight_decay = 0;
};
class Sgd final : public Optimizer {
 public:
  explicit Sgd(SgdOptions options = {});
  std::string name() const override { return "sgd"; }
  Hyperparameters hyperparameters() const override;

 protected:
  std::vector<std::string> slots() const override;
  void update(Parameter& p, std::int64_t begin, std::int64_t end, double lr, std::int64_t step) const override;

 private:
  SgdOptions o_;
};

// torch.optim.Adam (weight decay as L2: added to the gradient) and, with
// decoupled weight decay, torch.optim.AdamW (p = p * (1 - lr * weight_decay)
// before the Adam update). At step t:
//   m = beta1 * m + (1 - beta1) * g          state "exp_avg"
//   v = beta2 * v + (1 - beta2) * g * g      state "exp_avg_sq"
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {});
  std::string name() const override { return "adam"; }
  Hyperparameters hyperparameters() const override;

 protected:
  Adam(AdamOptions options, bool decoupled);
  std::vector<std::string> slots() const override { return {"exp_avg", "exp_avg_sq"}; }
  void update(Parameter& p, std::int64_t begin, std::int64_t end, double lr, std::int64_t step) const override;

 private:
  AdamOptions o_;
  bool decoupled_;
};

class AdamW final : public Adam {
 public:
  // PyTorch's AdamW default weight decay is 1e-2 (Adam's is 0).
  explicit AdamW(AdamOptions options = {.weight_decay = 1e-2}) : Adam(options, true) {}
  std::string name() const override { return "adamw"; }
};

// "sgd" (momentum, weight_decay), "adam" / "adamw" (beta1, beta2, eps,
// weight_decay); unspecified values take PyTorch's defaults. Throws Error for
// an unknown name, an unknown parameter or an invalid value.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, const Hyperparameters& hyperparameters = {});

// The fixed blocks that updates, clipping and scaling cut parameters into:
// elements [b, min(b + kOptimizerBlock, numel)) of one parameter, b a
// multiple of kOptimizerBlock. A store holding a parameter's elements from
// a block boundary on (a shard, dist/optimizer_shard.hpp) has the same blocks.
inline constexpr std::int64_t kOptimizerBlock = 1 << 14;

// torch.nn.utils.clip_grad_norm_: the L2 norm of all trainable gradients taken
// together (computed in double, in a fixed order); if it exceeds max_norm,
// every gradient is multiplied by max_norm / (norm + 1e-6). Returns the norm
// before clipping. A non-finite norm is returned and the gradients are left
// as they are (the caller should skip the step).
double clip_grad_norm(ParameterStore& store, double max_norm, const Parallel& parallel = tbb_parallel());

// The same global L2 norm, without changing anything.
double grad_norm(const ParameterStore& store, const Parallel& parallel = tbb_parallel());

// grad_norm in its parts, for stores that each hold some of the blocks:
//   block_sums  s_b = sum over the block's elements of g*g, in double, in
//               element order; one per block, blocks in store order
//   norm        sqrt(((0 + s_0) + s_1) + ...), the sums in the order given
// so grad_norm(store) == norm_of_block_sums(grad_block_sums(store)), and the
// concatenated block sums of stores holding consecutive runs of blocks give
// the whole store's norm, bit for bit.
std::vector<double> grad_block_sums(const ParameterStore& store, const Parallel& parallel = tbb_parallel());
double norm_of_block_sums(std::span<const double> block_sums);

// clip_grad_norm's scaling with the norm already known: scales every
// gradient by max_norm / (norm + 1e-6) when norm is finite and that is < 1.
void clip_grads_to(ParameterStore& store, double norm, double max_norm, const Parallel& parallel = tbb_parallel());

// Multiplies every trainable gradient by `factor`: after accumulating k
// micro-batches with backward(), scale_grads(store, 1.0 / k) gives their mean.
void scale_grads(ParameterStore& store, double factor, const Parallel& parallel = tbb_parallel());

}  // namespace attograd
