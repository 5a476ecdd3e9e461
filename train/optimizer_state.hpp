// The optimizer state a resumed run starts from must be the state the run
// saved: checkpoints promise an exact continuation, so a damaged state is
// refused by name instead of being zero-filled or carried along.
//
//   load_checkpoint(path, store, state);
//   check_optimizer_state(store, *optimizer, state.step, path);
#pragma once

#include <cstdint>
#include <string>

#include "engine/parameters.hpp"
#include "train/optimizer.hpp"

namespace attograd {

// Throws FileError "[checkpoint] 'path': ..." when, after `step` (> 0)
// updates, a trainable parameter lacks a slot `optimizer` keeps (or every
// parameter lacks all of them), a parameter holds a slot it does not keep,
// a slot holds NaN or Inf, or a second moment ("exp_avg_sq") is negative.
void check_optimizer_state(const ParameterStore& store, const Optimizer& optimizer, std::int64_t step,
                           const std::string& path);

}  // namespace attograd
