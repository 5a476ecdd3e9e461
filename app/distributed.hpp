// `attograd train` on several ranks (dist/): what each rank does differently,
// and what all ranks must agree on before they train.
#pragma once

#include <cstdint>

#include "app/run_config.hpp"
#include "app/trainer.hpp"

namespace attograd {

class DataParallel;

// Rank 0 writes the outputs (--save, --metrics, --plot) and shows progress;
// on the other ranks those are off. Rank 0's options are `options` itself.
TrainOptions options_for_rank(const TrainOptions& options, int rank);

// Refuses (AgreedError, printed by rank 0) unless every rank has the same
// configuration (every checkpoint metadata entry but the lm text's path,
// whose fingerprint is one; the seed, --check-numerics,
// --shard-optimizer, --bucket-mb),
// the same build (dist/fingerprint.hpp) and OpenBLAS kernel, the same
// parameters and optimizer state at `start_step`, and unless the number of
// ranks divides --accumulate. Nothing to check with one process.
void check_ranks_agree(DataParallel& dp, const RunConfig& config, const TrainOptions& options,
                       std::int64_t start_step);

}  // namespace attograd
