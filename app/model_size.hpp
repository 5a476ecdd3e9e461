// The size of a model from its configuration alone, without building it:
// what a checkpoint is checked against before anything is allocated
// (app/checkpoint_check.hpp). tests/cli/test_checkpoint_check.cpp holds
// expected_parameters to the parameters the real builders create.
#pragma once

#include <map>
#include <string>

#include "app/run_config.hpp"
#include "engine/tensor.hpp"

namespace attograd {

// The parameters (name -> shape, all F32) of the model `config` describes:
// the Transformer of a sequence task, or the decoder-only model of "lm".
std::map<std::string, Shape> expected_parameters(const RunConfig& config);

// Estimated bytes to train `config`'s model: parameters x 4 (value,
// gradient, two Adam moments) plus one batch's activations (sequences of
// lm.context characters, or 16 tokens for a sequence task). Builds the
// parameter list: bound config.model.layers first.
double estimated_training_bytes(const RunConfig& config);

}  // namespace attograd
