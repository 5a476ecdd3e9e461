// A run's full configuration: the command line's options with the task's
// defaults filled in. Stored in checkpoints (as safetensors metadata, one
// entry per setting of app/settings.hpp's table) so that `eval`, `decode`
// and `attention` rebuild exactly the model that was saved, and `--resume`
// continues exactly the run that was saved.
#pragma once

#include <map>
#include <string>

#include "app/settings.hpp"
#include "engine/precision.hpp"
#include "models/transformer.hpp"

namespace attograd {

struct RunConfig {
  std::string task;
  TransformerConfig model;  // vocabularies filled in by the task
  Precision precision = Precision::f32;  // of the products (linear, matmul) in training and evaluation
  double label_smoothing = 0;
  std::int64_t batch = 0, steps = 0, warmup = 0, eval_batches = 5, eval_every = 0, accumulate = 1;
  std::int64_t schedule_steps = 0;  // cosine: where the decay ends (the first run's steps; kept on resume)
  std::string lr_schedule, optimizer;
  double lr = 0, beta1 = 0.9, beta2 = 0.98, eps = 1e-9, weight_decay = 0, clip = 0;
  std::uint64_t seed = 1;
  std::string data;         // lm corpus path
  std::uint64_t data_hash = 0;  // lm: FNV-1a of the corpus bytes (resume checks the text did not change)
  std::string alphabet;     // lm: characters of the vocabulary
  std::int64_t context = 0; // lm: training window
};

// Fills every unset option from the task's defaults; throws Error for
// combinations that cannot work (heads not dividing d_model, ...).
RunConfig resolve_config(const TrainOptions& options);

// The configuration as checkpoint metadata strings ("model.*", "train.*",
// "lm.*"; the seed is the checkpoint's own "seed" entry), and back.
// from_metadata reads what rebuilds the model (enough for eval, decode,
// attention and sample); training_from_metadata also the training settings
// (for --resume). Both throw FileError naming a missing or malformed entry.
std::map<std::string, std::string> to_metadata(const RunConfig& config);
RunConfig from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path);
RunConfig training_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path);

// FNV-1a (64 bit) of `bytes`: the lm corpus's fingerprint in checkpoints.
std::uint64_t fnv1a(const std::string& bytes);

}  // namespace attograd
