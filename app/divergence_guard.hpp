// What training does when its numbers stop being finite. A step whose loss
// is NaN or Inf takes no optimizer update (train_step); then, by
// TrainOptions::on_nonfinite,
//   "stop" (default)  training ends with an Error that points to
//                     --check-numerics (which names the first node that
//                     produces NaN/Inf);
//   "skip"            the step is skipped, as mixed-precision trainers skip
//                     an overflowing step, and counted; 20 skipped steps in
//                     a row end training as "stop" does.
// A non-finite evaluation loss always stops, and a model with a non-finite
// parameter is never saved: the checkpoint on disk keeps the last finite one.
#pragma once

#include <cstdint>
#include <string>

#include "engine/parameters.hpp"

namespace attograd {

class DivergenceGuard {
 public:
  static constexpr std::int64_t kMaxSkippedInARow = 20;

  // Throws Error for a mode other than "stop" or "skip".
  DivergenceGuard(const std::string& on_nonfinite, std::string save_path);

  // After every step: throws (stop) or counts (skip) when `loss` is not finite.
  // Returns true if the step was skipped.
  bool after_step(std::int64_t step, double loss);
  // Throws when the evaluation loss is not finite.
  void after_evaluation(std::int64_t step, double eval_loss) const;
  // Throws, naming the tensor, before a non-finite model could be saved.
  void before_save(const ParameterStore& store, std::int64_t step) const;
  void saved(std::int64_t step) { last_saved_ = step; }

  std::int64_t skipped() const { return skipped_; }

 private:
  [[noreturn]] void stop(std::int64_t step, const std::string& what) const;
  bool skip_;
  std::string save_path_;
  std::int64_t last_saved_ = -1;
  std::int64_t skipped_ = 0, in_a_row_ = 0;
};

}  // namespace attograd
