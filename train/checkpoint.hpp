// Training checkpoints: one safetensors file (io/safetensors.hpp) holding
//   <parameter name>                 every parameter's value, under its
//                                    PyTorch state_dict name
//   optimizer.<parameter>.<slot>     the optimizer state Parameter::state
//                                    holds ("exp_avg", "momentum_buffer", ...)
//   __metadata__                     the TrainingState below, as strings:
//     attograd_format_version = "1", step, seed,
//     optimizer, optimizer.<hyperparameter>, schedule, schedule.<parameter>,
//     and every `extra` entry under its own key
// Numbers are written in the shortest form that reads back bit-exactly.
//
//   save_checkpoint("run/last.safetensors", store, {.step = 1200, .seed = 7, ...});
//   TrainingState st;
//   load_checkpoint("run/last.safetensors", store, st);
//   auto opt = make_optimizer(st.optimizer, st.optimizer_hyperparameters);
//   opt->set_step_count(st.step);
//
// Saving is atomic: an interrupted save leaves the previous file intact.
// Loading checks the whole file against the model before changing anything:
// on any FileError the store and the state are untouched.
#pragma once

#include <cstdint>
#include <string>

#include "train/hyperparameters.hpp"
#include "engine/parameters.hpp"
#include "io/safetensors.hpp"

namespace attograd {

struct TrainingState {
  std::int64_t step = 0;      // optimizer updates taken
  std::uint64_t seed = 0;     // the run's seed (dropout masks are keyed by seed and step)
  std::string optimizer{};    // make_optimizer() name, "" if none
  Hyperparameters optimizer_hyperparameters{};
  std::string schedule{};     // make_schedule() name, "" if none
  Hyperparameters schedule_parameters{};
  Metadata extra{};           // anything else (data position, model config...)
  bool operator==(const TrainingState&) const = default;
};

// Throws Error if a parameter name starts with "optimizer." or an `extra` key
// collides with the keys above; FileError if the file cannot be written.
void save_checkpoint(const std::string& path, const ParameterStore& store, const TrainingState& state);

// Reads `path` into the parameters of `store` (values and optimizer state;
// gradients are left alone) and into `state`. Throws FileError naming the
// file if it is malformed, if a parameter is missing from it, if it holds a
// tensor the model does not have, or if a dtype or shape differs from the
// model's. Metadata is optional (a plain safetensors state_dict loads with a
// default TrainingState); when present it must parse.
void load_checkpoint(const std::string& path, ParameterStore& store, TrainingState& state);

}  // namespace attograd
