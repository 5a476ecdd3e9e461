// Learning-rate schedules: small value types mapping a step number to a
// learning rate. Steps count from 1: the n-th optimizer update uses at(n).
// Step 0 is treated as step 1 (as the Annotated Transformer's rate() does).
//
//   LrSchedule s = make_schedule("noam", {{"d_model", 512}, {"warmup", 4000}});
//   opt->step(store, learning_rate(s, step));
//
// Parameters by name (what make_schedule and the command line accept):
//   constant      lr (1e-3)
//   noam          factor (1), d_model (512), warmup (4000)
//   cosine        lr (1e-3), min_lr (0), warmup (0), total (required)
//   inverse-sqrt  lr (1e-3), warmup (4000)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "train/hyperparameters.hpp"

namespace attograd {

// lr at every step.
struct ConstantSchedule {
  double lr = 1e-3;
  double at(std::int64_t step) const;
};

// "Attention Is All You Need" (5.3), as the Annotated Transformer's rate():
//   factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
// rising linearly for `warmup` steps, then decaying as 1/sqrt(step).
struct NoamSchedule {
  double factor = 1;
  double d_model = 512;
  double warmup = 4000;
  double at(std::int64_t step) const;
};

// Linear warmup from lr/warmup to lr over `warmup` steps, then a half cosine
// from lr down to min_lr at step `total`, and min_lr after it.
struct CosineSchedule {
  double lr = 1e-3;
  double min_lr = 0;
  std::int64_t warmup = 0;
  std::int64_t total = 1;
  double at(std::int64_t step) const;
};

// Linear warmup to lr over `warmup` steps, then lr * sqrt(warmup / step)
// (fairseq's inverse_sqrt).
struct InverseSqrtSchedule {
  double lr = 1e-3;
  std::int64_t warmup = 4000;
  double at(std::int64_t step) const;
};

using LrSchedule = std::variant<ConstantSchedule, NoamSchedule, CosineSchedule, InverseSqrtSchedule>;

double learning_rate(const LrSchedule& schedule, std::int64_t step);

// "constant", "noam", "cosine" or "inverse-sqrt"; unspecified parameters take
// the defaults above. Throws Error for an unknown name (listing the known
// ones), an unknown or missing parameter, or an invalid value.
LrSchedule make_schedule(std::string_view name, const Hyperparameters& params = {});

// The inverse of make_schedule: name and parameters (for checkpoints).
std::string schedule_name(const LrSchedule& schedule);
Hyperparameters schedule_parameters(const LrSchedule& schedule);

}  // namespace attograd
