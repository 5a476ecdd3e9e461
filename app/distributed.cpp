#include "app/distributed.hpp"

#include <fmt/format.h>

#include "app/settings.hpp"
#include "dist/data_parallel.hpp"
#include "dist/fingerprint.hpp"
#include "dist/guard.hpp"

// OpenBLAS picks its kernel per CPU, and kernels round differently
// (OPENBLAS_CORETYPE pins it). Declared here: not every cblas.h has it.
extern "C" char* openblas_get_corename(void);

namespace attograd {

TrainOptions options_for_rank(const TrainOptions& options, int rank) {
  TrainOptions o = options;
  if (rank != 0) {
    o.save.clear();
    o.metrics.clear();
    o.plot.clear();
    o.quiet = true;
  }
  return o;
}

void check_ranks_agree(DataParallel& dp, const RunConfig& config, const TrainOptions& options,
                       std::int64_t start_step) {
  Communicator& comm = dp.communicator();
  if (comm.size() == 1) return;
  Facts facts = build_facts();
  facts.emplace_back("the OpenBLAS kernel (OPENBLAS_CORETYPE)", openblas_get_corename());
  for (const Setting& s : train_settings())  // every stored setting, also those to_metadata leaves out at their default
    if (s.stored != Stored::no && s.stored != Stored::by_checkpoint && s.key != "lm.data")
      facts.emplace_back(s.key, s.value.write(config));  // the text's path may differ by node; lm.data_hash may not
  facts.emplace_back("seed", fmt::format("{}", config.seed));
  facts.emplace_back("--check-numerics", options.check_numerics ? "on" : "off");
  facts.emplace_back("--shard-optimizer", options.shard_optimizer ? "on" : "off");  // the ranks' collectives differ
  facts.emplace_back("--bucket-mb", fmt::format("{}", options.bucket_mb));  // so do their buckets
  facts.emplace_back("the starting step", fmt::format("{}", start_step));
  facts.emplace_back("the parameters and optimizer state (FNV-1a)", parameters_fingerprint(dp.store()));
  require_identical(comm, facts);
  dp.check_accumulate(config.accumulate);
}

}  // namespace attograd
