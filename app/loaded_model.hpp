// A model restored from a checkpoint written by `attograd train`: the run's
// configuration comes from the file's metadata, the task from its name.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/lm.hpp"
#include "app/run_config.hpp"
#include "app/seq2seq.hpp"

namespace attograd {

struct LoadedSeq2Seq {
  RunConfig config;
  std::unique_ptr<Seq2SeqTask> task;
  std::unique_ptr<Seq2SeqModel> model;
};

// Throws Error if the checkpoint belongs to another task than `expected_task`
// ("" accepts any sequence task) and FileError if it is malformed. The model
// runs in `precision`, or without it in the one it was trained in.
LoadedSeq2Seq load_seq2seq(const std::string& path, const std::string& expected_task, int threads,
                           std::optional<Precision> precision = std::nullopt);

struct LoadedLm {
  RunConfig config;
  std::unique_ptr<CharVocab> vocab;
  std::unique_ptr<LanguageModel> model;
};
LoadedLm load_lm(const std::string& path, int threads, std::optional<Precision> precision = std::nullopt);

}  // namespace attograd
