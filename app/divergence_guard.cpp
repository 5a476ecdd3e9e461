#include "app/divergence_guard.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "train/finite_values.hpp"

namespace attograd {
namespace {

std::string value_text(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

}  // namespace

DivergenceGuard::DivergenceGuard(const std::string& on_nonfinite, std::string save_path)
    : skip_(on_nonfinite == "skip"), save_path_(std::move(save_path)) {
  if (on_nonfinite != "stop" && on_nonfinite != "skip")
    throw Error(fmt::format("[train] --on-nonfinite '{}': expected stop or skip", on_nonfinite));
}

void DivergenceGuard::stop(std::int64_t step, const std::string& what) const {
  std::string kept;
  if (!save_path_.empty())
    kept = last_saved_ >= 0 ? fmt::format(" '{}' keeps the model of step {}.", save_path_, last_saved_)
                            : fmt::format(" This run wrote nothing to '{}'.", save_path_);
  throw Error(fmt::format("[train] step {}: {}: training diverged.{} Rerun with --check-numerics to stop at the first "
                          "node that produces NaN/Inf and name it; a lower --lr or --clip may help, and "
                          "--on-nonfinite skip skips such steps instead of stopping",
                          step, what, kept));
}

bool DivergenceGuard::after_step(std::int64_t step, double loss) {
  if (std::isfinite(loss)) {
    in_a_row_ = 0;
    return false;
  }
  const std::string what = fmt::format("the training loss is {}", value_text(loss));
  if (!skip_) stop(step, what + " (the step was not applied)");
  ++skipped_;
  if (++in_a_row_ >= kMaxSkippedInARow)
    stop(step, fmt::format("{}, the {}th skipped step in a row ({} skipped in all)", what, in_a_row_, skipped_));
  return true;
}

void DivergenceGuard::after_evaluation(std::int64_t step, double eval_loss) const {
  if (!std::isfinite(eval_loss)) stop(step, fmt::format("the evaluation loss is {}", value_text(eval_loss)));
}

void DivergenceGuard::before_save(const ParameterStore& store, std::int64_t step) const {
  if (const auto bad = first_non_finite(store, /*with_state=*/true))
    stop(step, fmt::format("{}, so it is not saved", describe(*bad)));
}

}  // namespace attograd
