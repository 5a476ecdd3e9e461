#include "train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

double step_from_one(std::int64_t step) { return static_cast<double>(std::max<std::int64_t>(step, 1)); }

// A count given as a double on the command line: a non-negative integer.
std::int64_t count_parameter(std::string_view who, const Hyperparameters& hp, std::string_view name) {
  const double v = hp.find(name)->second;
  if (!(v >= 0) || v > 1e15 || v != std::floor(v))
    throw Error(fmt::format("[{}] {} must be a non-negative integer, got {}", who, name, v));
  return static_cast<std::int64_t>(v);
}

void require(bool ok, std::string_view who, std::string_view what) {
  if (!ok) throw Error(fmt::format("[{}] {}", who, what));
}

}  // namespace

double ConstantSchedule::at(std::int64_t) const { return lr; }

double NoamSchedule::at(std::int64_t step) const {
  const double s = step_from_one(step);
  return factor * (std::pow(d_model, -0.5) * std::min(std::pow(s, -0.5), s * std::pow(warmup, -1.5)));
}

double CosineSchedule::at(std::int64_t step) const {
  const double s = step_from_one(step);
  if (s <= static_cast<double>(warmup)) return lr * s / static_cast<double>(warmup);
  if (s >= static_cast<double>(total)) return min_lr;
  const double progress = (s - static_cast<double>(warmup)) / static_cast<double>(total - warmup);
  return min_lr + (lr - min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

double InverseSqrtSchedule::at(std::int64_t step) const {
  const double s = step_from_one(step);
  const double w = static_cast<double>(warmup);
  if (s <= w) return lr * s / w;
  return lr * std::sqrt(w / s);
}

double learning_rate(const LrSchedule& schedule, std::int64_t step) {
  return std::visit([&](const auto& s) { return s.at(step); }, schedule);
}

LrSchedule make_schedule(std::string_view name, const Hyperparameters& params) {
  if (name == "constant") {
    const auto hp = resolve_hyperparameters(name, params, {{"lr", 1e-3}});
    require(hp.at("lr") >= 0 && std::isfinite(hp.at("lr")), name, "lr must be finite and >= 0");
    return ConstantSchedule{hp.at("lr")};
  }
  if (name == "noam") {
    const auto hp = resolve_hyperparameters(name, params, {{"factor", 1}, {"d_model", 512}, {"warmup", 4000}});
    require(hp.at("factor") >= 0 && std::isfinite(hp.at("factor")), name, "factor must be finite and >= 0");
    require(hp.at("d_model") >= 1 && std::isfinite(hp.at("d_model")), name, "d_model must be >= 1");
    require(hp.at("warmup") >= 1 && std::isfinite(hp.at("warmup")), name, "warmup must be >= 1");
    return NoamSchedule{hp.at("factor"), hp.at("d_model"), hp.at("warmup")};
  }
  if (name == "cosine") {
    const auto hp = resolve_hyperparameters(name, params, {{"lr", 1e-3}, {"min_lr", 0}, {"warmup", 0}}, {"total"});
    const CosineSchedule s{hp.at("lr"), hp.at("min_lr"), count_parameter(name, hp, "warmup"),
                           count_parameter(name, hp, "total")};
    require(s.lr >= 0 && std::isfinite(s.lr), name, "lr must be finite and >= 0");
    require(s.min_lr >= 0 && s.min_lr <= s.lr, name, "min_lr must be in [0, lr]");
    require(s.total >= 1 && s.total >= s.warmup, name, "total must be >= 1 and >= warmup");
    return s;
  }
  if (name == "inverse-sqrt") {
    const auto hp = resolve_hyperparameters(name, params, {{"lr", 1e-3}, {"warmup", 4000}});
    const InverseSqrtSchedule s{hp.at("lr"), count_parameter(name, hp, "warmup")};
    require(s.lr >= 0 && std::isfinite(s.lr), name, "lr must be finite and >= 0");
    require(s.warmup >= 1, name, "warmup must be >= 1");
    return s;
  }
  throw Error(fmt::format("[schedule] unknown schedule '{}' (known: constant, noam, cosine, inverse-sqrt)", name));
}

std::string schedule_name(const LrSchedule& schedule) {
  constexpr const char* names[] = {"constant", "noam", "cosine", "inverse-sqrt"};
  return names[schedule.index()];
}

Hyperparameters schedule_parameters(const LrSchedule& schedule) {
  struct Visitor {
    Hyperparameters operator()(const ConstantSchedule& s) const { return {{"lr", s.lr}}; }
    Hyperparameters operator()(const NoamSchedule& s) const {
      return {{"factor", s.factor}, {"d_model", s.d_model}, {"warmup", s.warmup}};
    }
    Hyperparameters operator()(const CosineSchedule& s) const {
      return {{"lr", s.lr}, {"min_lr", s.min_lr}, {"warmup", static_cast<double>(s.warmup)},
              {"total", static_cast<double>(s.total)}};
    }
    Hyperparameters operator()(const InverseSqrtSchedule& s) const {
      return {{"lr", s.lr}, {"warmup", static_cast<double>(s.warmup)}};
    }
  };
  return std::visit(Visitor{}, schedule);
}

}  // namespace attograd
