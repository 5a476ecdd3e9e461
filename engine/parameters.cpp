#include "engine/parameters.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/rng.hpp"

namespace attograd {
namespace {

// Fan-in and fan-out as PyTorch computes them for a weight [out, in, k...].
std::pair<double, double> fans(const Shape& s) {
  if (s.size() < 2) {
    const double n = s.empty() ? 1.0 : static_cast<double>(s[0]);
    return {n, n};
  }
  double receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= static_cast<double>(s[i]);
  return {static_cast<double>(s[1]) * receptive, static_cast<double>(s[0]) * receptive};
}

// Element i's uniform [0,1) and standard normal draws, from (key, i).
double uniform_at(std::uint64_t key, std::int64_t i) {
  const auto r = philox(key, 0, static_cast<std::uint64_t>(i));
  return uniform01(r[0], r[1]);
}
double normal_at(std::uint64_t key, std::int64_t i) {
  const auto r = philox(key, 1, static_cast<std::uint64_t>(i));
  const double u1 = 1.0 - uniform01(r[0], r[1]);  // (0, 1]
  const double u2 = uniform01(r[2], r[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

void initialize(Tensor& t, const Init& init, std::uint64_t key) {
  const auto fan = fans(t.shape());  // not a structured binding: clang 14 cannot capture one in a lambda
  const auto fan_in = fan.first, fan_out = fan.second;
  visit_floating(t.dtype(), [&]<class T>(T) {
    T* p = t.data<T>();
    const std::int64_t n = t.numel();
    auto fill = [&](auto value_at) {
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(value_at(i));
    };
    switch (init.kind) {
      case Init::Kind::zeros: fill([](std::int64_t) { return 0.0; }); break;
      case Init::Kind::ones: fill([](std::int64_t) { return 1.0; }); break;
      case Init::Kind::constant: fill([&](std::int64_t) { return init.a; }); break;
      case Init::Kind::normal: fill([&](std::int64_t i) { return init.a + init.b * normal_at(key, i); }); break;
      case Init::Kind::uniform:
        fill([&](std::int64_t i) { return init.a + (init.b - init.a) * uniform_at(key, i); });
        break;
      case Init::Kind::xavier_uniform: {
        const double bound = init.a * std::sqrt(6.0 / (fan_in + fan_out));
        fill([&](std::int64_t i) { return -bound + 2 * bound * uniform_at(key, i); });
        break;
      }
      case Init::Kind::xavier_normal: {
        const double std = init.a * std::sqrt(2.0 / (fan_in + fan_out));
        fill([&](std::int64_t i) { return std * normal_at(key, i); });
        break;
      }
    }
  });
}

Parameter& ParameterStore::get_or_create(const std::string& name, DType dtype, const Shape& shape, const Init& init) {
  if (auto it = index_.find(name); it != index_.end()) {
    Parameter& p = params_[it->second];
    if (p.value.dtype() != dtype || p.value.shape() != shape)
      throw Error(fmt::format("[parameters] '{}' exists as {}{}, requested {}{}", name, dtype_name(p.value.dtype()),
                              to_string(p.value.shape()), dtype_name(dtype), to_string(shape)));
    return p;
  }
  if (!is_floating(dtype)) throw Error(fmt::format("[parameters] '{}' must be f32 or f64", name));
  Parameter p{name, Tensor::empty(dtype, shape), Tensor::zeros(dtype, shape), {}, true};
  initialize(p.value, init, mix_keys(seed_, hash_name(name)));
  index_[name] = params_.size();
  params_.push_back(std::move(p));
  return params_.back();
}

Parameter& ParameterStore::at(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(fmt::format("[parameters] no parameter named '{}'", name));
  return params_[it->second];
}

const Parameter& ParameterStore::at(const std::string& name) const {
  return const_cast<ParameterStore*>(this)->at(name);
}

std::int64_t ParameterStore::numel() const {
  std::int64_t n = 0;
  for (const auto& p : params_) n += p.value.numel();
  return n;
}

void ParameterStore::zero_grad() {
  for (auto& p : params_) p.grad.fill(0);
}

}  // namespace attograd
