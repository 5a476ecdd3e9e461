// What `attograd train --resume CKPT` runs: the checkpoint's training
// configuration — model, seed, data, batch, optimizer and its
// hyperparameters, schedule, lr, warmup, accumulation, clipping, label
// smoothing, dropout — so the run continues exactly as it would have without
// the interruption, whatever the command line repeats. From the command line
// come only the settings app/settings.cpp marks free: the run's length
// (--steps, --epochs, --steps-per-epoch) and what does not change results
// (--eval-every, --threads, --save, --metrics, --plot, --quiet,
// --check-numerics).
//
// A fixed setting given again must agree with the checkpoint:
//   attograd train copy --resume run.safetensors --steps 400 --lr 2
//   error: [train] --lr 2 conflicts with the checkpoint 'run.safetensors', which was trained with --lr 1
#pragma once

#include <string>

#include "app/run_config.hpp"

namespace attograd {

// `command_line` is resolve_config(options); the checkpoint is options.resume.
// Throws Error naming the flag and both values for a conflicting flag, or
// the task; FileError for a checkpoint without a training configuration.
RunConfig resumed_config(const TrainOptions& options, const RunConfig& command_line);

}  // namespace attograd
