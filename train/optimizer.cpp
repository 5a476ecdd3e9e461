// Optimizer updates, gradient clipping and scaling.
//
// Work is cut into fixed blocks of kBlock elements of one parameter and the
// blocks run in parallel through the caller's Parallel (TBB by default). Updates are element-wise, so any split
// gives the same bits; the one reduction (the gradient norm) sums each block
// in double and then adds the block sums in block order, so it too is
// independent of the thread count.
//
// Kernels follow PyTorch's operation order (mul_ then add_, addcmul_,
// addcdiv_) in the parameter's own precision, with the scalar coefficients
// computed in double and rounded once, as Python scalars are.
#include "train/optimizer.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

constexpr std::int64_t kBlock = kOptimizerBlock;

template <class P>
struct Block {
  P* param;
  std::int64_t begin, end;
};

// Blocks over every trainable parameter, in creation order.
template <class P, class Store>
std::vector<Block<P>> blocks_of(Store& store) {
  std::vector<Block<P>> blocks;
  for (P& p : store.all()) {
    if (!p.trainable) continue;
    if (!p.grad.defined() || p.grad.dtype() != p.value.dtype() || p.grad.shape() != p.value.shape())
      throw Error(fmt::format("[optimizer] parameter '{}' has no gradient of its dtype and shape", p.name));
    for (std::int64_t b = 0; b < p.value.numel(); b += kBlock)
      blocks.push_back({&p, b, std::min(p.value.numel(), b + kBlock)});
  }
  return blocks;
}

// One task per block (each is up to kBlock elements: worth a task).
template <class P, class F>
void for_each_block(const Parallel& parallel, const std::vector<Block<P>>& blocks, const F& f) {
  parallel.parallel_for(static_cast<std::int64_t>(blocks.size()), 1, [&](std::int64_t begin, std::int64_t end) {
    for (auto i = static_cast<std::size_t>(begin); i != static_cast<std::size_t>(end); ++i) f(i, blocks[i]);
  });
}

void require(bool ok, std::string_view who, std::string_view what, double value) {
  if (!ok) throw Error(fmt::format("[{}] invalid {}: {}", who, what, value));
}

void ensure_slot(Parameter& p, const std::string& slot) {
  auto it = p.state.find(slot);
  if (it == p.state.end()) {
    p.state.emplace(slot, Tensor::zeros(p.value.dtype(), p.value.shape()));
  } else if (it->second.dtype() != p.value.dtype() || it->second.shape() != p.value.shape()) {
    throw Error(fmt::format("[optimizer] state '{}' of '{}' is {}{}, the parameter {}{}", slot, p.name,
                            dtype_name(it->second.dtype()), to_string(it->second.shape()),
                            dtype_name(p.value.dtype()), to_string(p.value.shape())));
  }
}

template <class T>
void sgd_kernel(T* p, const T* g, T* buf, std::int64_t n, T lr, T weight_decay, T momentum) {
  for (std::int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if (weight_decay != 0) d = d + weight_decay * p[i];
    if (buf != nullptr) {
      buf[i] = buf[i] * momentum + d;
      d = buf[i];
    }
    p[i] = p[i] + (-lr) * d;
  }
}

template <class T>
struct AdamCoefficients {
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T neg_step_size;  // -lr / (1 - beta1^t)
  T bc2_sqrt;       // sqrt(1 - beta2^t)
  T eps;
  T l2;             // Adam: g += l2 * p
  T decay;          // AdamW: p *= decay = 1 - lr * weight_decay
};

template <class T>
void adam_kernel(T* p, const T* grad, T* m, T* v, std::int64_t n, const AdamCoefficients<T>& c) {
  for (std::int64_t i = 0; i < n; ++i) {
    T w = p[i];
    T g = grad[i];
    if (c.decay != 1) w = w * c.decay;
    if (c.l2 != 0) g = g + c.l2 * w;
    m[i] = m[i] * c.beta1 + c.one_minus_beta1 * g;
    v[i] = v[i] * c.beta2 + c.one_minus_beta2 * g * g;
    const T denom = std::sqrt(v[i]) / c.bc2_sqrt + c.eps;
    p[i] = w + c.neg_step_size * m[i] / denom;
  }
}

}  // namespace

void Optimizer::step(ParameterStore& store, double lr, const Parallel& parallel) {
  if (!(lr >= 0) || !std::isfinite(lr)) throw Error(fmt::format("[{}] invalid learning rate: {}", name(), lr));
  const auto blocks = blocks_of<Parameter>(store);
  for (Parameter& p : store.all())
    if (p.trainable)
      for (const auto& slot : slots()) ensure_slot(p, slot);
  const std::int64_t step = ++steps_;
  for_each_block(parallel, blocks,
                 [&](std::size_t, const Block<Parameter>& b) { update(*b.param, b.begin, b.end, lr, step); });
}

void Optimizer::set_step_count(std::int64_t steps) {
  if (steps < 0) throw Error(fmt::format("[{}] negative step count {}", name(), steps));
  steps_ = steps;
}

Sgd::Sgd(SgdOptions options) : o_(options) {
  require(o_.momentum >= 0 && std::isfinite(o_.momentum), "sgd", "momentum", o_.momentum);
  require(o_.weight_decay >= 0 && std::isfinite(o_.weight_decay), "sgd", "weight_decay", o_.weight_decay);
}

Hyperparameters Sgd::hyperparameters() const {
  return {{"momentum", o_.momentum}, {"weight_decay", o_.weight_decay}};
}

std::vector<std::string> Sgd::slots() const {
  if (o_.momentum == 0) return {};
  return {"momentum_buffer"};
}

void Sgd::update(Parameter& p, std::int64_t begin, std::int64_t end, double lr, std::int64_t) const {
  visit_floating(p.value.dtype(), [&]<class T>(T) {
    T* buf = o_.momentum == 0 ? nullptr : p.state.at("momentum_buffer").data<T>() + begin;
    sgd_kernel<T>(p.value.data<T>() + begin, p.grad.data<T>() + begin, buf, end - begin, static_cast<T>(lr),
                  static_cast<T>(o_.weight_decay), static_cast<T>(o_.momentum));
  });
}

Adam::Adam(AdamOptions options) : Adam(options, false) {}

Adam::Adam(AdamOptions options, bool decoupled) : o_(options), decoupled_(decoupled) {
  const char* who = decoupled ? "adamw" : "adam";
  require(o_.beta1 >= 0 && o_.beta1 < 1, who, "beta1", o_.beta1);
  require(o_.beta2 >= 0 && o_.beta2 < 1, who, "beta2", o_.beta2);
  require(o_.eps >= 0 && std::isfinite(o_.eps), who, "eps", o_.eps);
  require(o_.weight_decay >= 0 && std::isfinite(o_.weight_decay), who, "weight_decay", o_.weight_decay);
}

Hyperparameters Adam::hyperparameters() const {
  return {{"beta1", o_.beta1}, {"beta2", o_.beta2}, {"eps", o_.eps}, {"weight_decay", o_.weight_decay}};
}

void Adam::update(Parameter& p, std::int64_t begin, std::int64_t end, double lr, std::int64_t step) const {
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1 - std::pow(o_.beta1, t);
  const double bias_correction2 = 1 - std::pow(o_.beta2, t);
  visit_floating(p.value.dtype(), [&]<class T>(T) {
    const AdamCoefficients<T> c{
        static_cast<T>(o_.beta1), static_cast<T>(1 - o_.beta1), static_cast<T>(o_.beta2),
        static_cast<T>(1 - o_.beta2), static_cast<T>(-(lr / bias_correction1)),
        static_cast<T>(std::sqrt(bias_correction2)), static_cast<T>(o_.eps),
        static_cast<T>(decoupled_ ? 0.0 : o_.weight_decay), static_cast<T>(decoupled_ ? 1 - lr * o_.weight_decay : 1.0)};
    adam_kernel<T>(p.value.data<T>() + begin, p.grad.data<T>() + begin, p.state.at("exp_avg").data<T>() + begin,
                   p.state.at("exp_avg_sq").data<T>() + begin, end - begin, c);
  });
}

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, const Hyperparameters& hyperparameters) {
  if (name == "sgd") {
    const auto hp = resolve_hyperparameters(name, hyperparameters, Sgd().hyperparameters());
    return std::make_unique<Sgd>(SgdOptions{hp.at("momentum"), hp.at("weight_decay")});
  }
  if (name == "adam" || name == "adamw") {
    const auto defaults = name == "adam" ? Adam().hyperparameters() : AdamW().hyperparameters();
    const auto hp = resolve_hyperparameters(name, hyperparameters, defaults);
    const AdamOptions o{hp.at("beta1"), hp.at("beta2"), hp.at("eps"), hp.at("weight_decay")};
    if (name == "adam") return std::make_unique<Adam>(o);
    return std::make_unique<AdamW>(o);
  }
  throw Error(fmt::format("[optimizer] unknown optimizer '{}' (known: sgd, adam, adamw)", name));
}

std::vector<double> grad_block_sums(const ParameterStore& store, const Parallel& parallel) {
  const auto blocks = blocks_of<const Parameter>(store);
  std::vector<double> sums(blocks.size());
  for_each_block(parallel, blocks, [&](std::size_t i, const Block<const Parameter>& b) {
    visit_floating(b.param->grad.dtype(), [&]<class T>(T) {
      const T* g = b.param->grad.data<T>();
      double s = 0;
      for (std::int64_t k = b.begin; k < b.end; ++k) s += static_cast<double>(g[k]) * static_cast<double>(g[k]);
      sums[i] = s;
    });
  });
  return sums;
}

double norm_of_block_sums(std::span<const double> block_sums) {
  double total = 0;
  for (double s : block_sums) total += s;  // block order: the same for any thread count
  return std::sqrt(total);
}

double grad_norm(const ParameterStore& store, const Parallel& parallel) {
  return norm_of_block_sums(grad_block_sums(store, parallel));
}

void clip_grads_to(ParameterStore& store, double norm, double max_norm, const Parallel& parallel) {
  const double coefficient = max_norm / (norm + 1e-6);
  if (std::isfinite(norm) && coefficient < 1) scale_grads(store, coefficient, parallel);
}

double clip_grad_norm(ParameterStore& store, double max_norm, const Parallel& parallel) {
  if (!(max_norm > 0)) throw Error(fmt::format("[clip_grad_norm] max_norm must be positive, got {}", max_norm));
  const double norm = grad_norm(store, parallel);
  clip_grads_to(store, norm, max_norm, parallel);
  return norm;
}

void scale_grads(ParameterStore& store, double factor, const Parallel& parallel) {
  const auto blocks = blocks_of<Parameter>(store);
  for_each_block(parallel, blocks, [&](std::size_t, const Block<Parameter>& b) {
    visit_floating(b.param->grad.dtype(), [&]<class T>(T) {
      T* g = b.param->grad.data<T>();
      const T f = static_cast<T>(factor);
      for (std::int64_t k = b.begin; k < b.end; ++k) g[k] = g[k] * f;
    });
  });
}

}  // namespace attograd
