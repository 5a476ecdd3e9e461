// ParameterStore: every trainable tensor of a model under a hierarchical name
// ("encoder.layers.0.self_attn.q_proj.weight"), with its gradient and the
// optimizer's state. Names and layouts follow PyTorch (a linear weight is
// [out, in]) so a state_dict maps one to one.
//
// Initial values depend only on (store seed, parameter name), never on the
// order parameters are created in.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace attograd {

struct Init {
  enum class Kind { zeros, ones, constant, normal, uniform, xavier_uniform, xavier_normal };
  Kind kind = Kind::zeros;
  double a = 0;  // constant value / mean / low / gain
  double b = 0;  // std / high

  static Init zeros() { return {Kind::zeros}; }
  static Init ones() { return {Kind::ones}; }
  static Init constant(double v) { return {Kind::constant, v}; }
  static Init normal(double mean, double std) { return {Kind::normal, mean, std}; }
  static Init uniform(double low, double high) { return {Kind::uniform, low, high}; }
  // Glorot & Bengio (2010): U(-g*sqrt(6/(fan_in+fan_out)), +...). For a
  // weight of shape [out, in, ...] fan_in = in * receptive, fan_out = out * receptive.
  static Init xavier_uniform(double gain = 1.0) { return {Kind::xavier_uniform, gain}; }
  static Init xavier_normal(double gain = 1.0) { return {Kind::xavier_normal, gain}; }
};

// Fills `t` (f32 or f64) according to `init`, with random streams keyed by `key`.
void initialize(Tensor& t, const Init& init, std::uint64_t key);

struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;                          // same shape, accumulated by backward
  std::map<std::string, Tensor> state;  // optimizer slots ("exp_avg", ...)
  bool trainable = true;
};

class ParameterStore {
 public:
  explicit ParameterStore(std::uint64_t seed = 0) : seed_(seed) {}

  // Returns the parameter `name`, creating and initialising it if absent.
  // Throws Error if it exists with another dtype or shape.
  Parameter& get_or_create(const std::string& name, DType dtype, const Shape& shape, const Init& init);

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  Parameter& at(const std::string& name);
  const Parameter& at(const std::string& name) const;

  // In creation order.
  std::deque<Parameter>& all() { return params_; }
  const std::deque<Parameter>& all() const { return params_; }
  std::size_t size() const { return params_.size(); }
  std::int64_t numel() const;

  void zero_grad();
  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
  std::deque<Parameter> params_;  // deque: references stay valid as it grows
  std::map<std::string, std::size_t> index_;
};

}  // namespace attograd
