// A checkpoint is checked before anything is built from it. `eval`,
// `decode`, `attention`, `sample` and `train --resume` build a model from
// the file's metadata; a hostile or damaged file could describe a model of
// 137 GB in 1.4 KB. So, reading the header only (no tensor data):
//   1. the metadata must describe a model within these bounds (the limits
//      of `attograd train`'s flags) and a training run whose estimated
//      memory fits in kMemoryBudget (24 GiB): parameters with gradients and
//      Adam's two moments, plus a batch's activations;
//   2. the file's tensors must be exactly the parameters that model has,
//      by name, dtype (F32) and shape, plus optimizer state
//      ("optimizer.<parameter>.<slot>") shaped as its parameter.
// Every refusal is a FileError "[checkpoint] 'path': ..." naming the entry,
// the tensor or the bound.
//
//   RunConfig config = check_checkpoint("run.safetensors");  // then build and load
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "app/run_config.hpp"
#include "engine/tensor.hpp"

namespace attograd {

struct ModelBounds {
  std::int64_t max_layers = 64, max_d_model = 65536, max_heads = 1024, max_d_ff = 262144;
  std::int64_t max_vocab = 1 << 20, max_batch = 1 << 20, max_accumulate = 1024;
  double memory_budget = 24.0 * (1ull << 30);  // bytes
};

// Reads the header of `path` and checks it (1 and 2 above); returns the
// configuration its metadata holds (from_metadata). Throws FileError.
RunConfig check_checkpoint(const std::string& path, const ModelBounds& bounds = {});

// Check 1 alone, on metadata already read (`path` names it in messages):
// also every stored setting that has a flag must be within that flag's range
// (a checkpoint cannot give a run a value the command line refuses, NaN
// included). Returns from_metadata's configuration. Throws FileError.
RunConfig check_run_metadata(const std::map<std::string, std::string>& metadata, const std::string& path,
                             const ModelBounds& bounds = {});

}  // namespace attograd
