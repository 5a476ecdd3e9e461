// FIFOs and other non-regular files as inputs (issue 18, item 4): opening a
// FIFO for reading blocks until a writer appears, so every command that
// reads a file must refuse one at once, naming it, rather than hang.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>

#include "cli_check.hpp"

namespace attograd::test {
namespace {

const std::string& fifo() {
  static const std::string path = [] {
    const std::string p = scratch("input.fifo");
    REQUIRE(::mkfifo(p.c_str(), 0644) == 0);
    return p;
  }();
  return path;
}

// Runs attograd with `args`; it must fail within seconds saying "not a regular file" and naming the FIFO.
void check_refused_at_once(const std::vector<std::string>& args) {
  const auto start = std::chrono::steady_clock::now();
  const CliResult r = run_attograd(args);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(joined(args), "\n", r.output);
  CHECK(r.exit_code == 1);
  CHECK(seconds < 10);
  CHECK(contains(r.output, fifo()));
  CHECK(contains(r.output, "not a regular file"));
}

}  // namespace

// A regression hangs here rather than failing: meson's timeout (600 s) ends it.
TEST_CASE("every file a command reads is refused at once when it is a FIFO") {
  const std::string ckpt = trained_copy_model();
  check_refused_at_once({"eval", "copy", "--load", fifo()});
  check_refused_at_once({"decode", "copy", "--load", fifo(), "--input", "1 2 3"});
  check_refused_at_once({"attention", "copy", "--load", fifo(), "--input", "1 2 3", "--out", scratch("fifo.svg")});
  check_refused_at_once({"sample", "--load", fifo()});
  check_refused_at_once({"eval", "copy", "--load", ckpt, "--data", fifo()});
  const std::string lm = scratch("fifo_lm.safetensors");
  train_tiny("lm", {"--steps", "1", "--save", lm});
  check_refused_at_once({"eval", "lm", "--load", lm, "--data", fifo()});
  check_refused_at_once({"plot", fifo(), "--out", scratch("fifo_plot.svg")});
  check_refused_at_once({"ops", "--plugin", fifo()});
  std::vector<std::string> train{"train", "copy", "--steps", "2"};
  const auto tiny = tiny_model();
  train.insert(train.end(), tiny.begin(), tiny.end());
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), train.begin(), train.end());
    return more;
  };
  check_refused_at_once(with({"--resume", fifo()}));
  check_refused_at_once(with({"--metrics", fifo()}));
  train[1] = "lm";
  check_refused_at_once(with({"--data", fifo()}));
}

TEST_CASE("a directory given as a checkpoint is refused naming it") {
  const CliResult r = run_attograd({"decode", "copy", "--load", "/tmp", "--input", "1 2"});
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("/tmp") != std::string::npos);
}

}  // namespace attograd::test
