// The attograd program's flags: help for every subcommand; unknown flags,
// bad values and missing files end with a message naming the problem and a
// non-zero exit; eval --data reads tab-separated examples; decode with beam
// search returns the copy.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "cli_check.hpp"

namespace attograd::test {
namespace {

TEST_CASE("every subcommand answers --help with its options and exit code 0") {
  const CliResult top = run_attograd({"--help"});
  CHECK(top.exit_code == 0);
  for (const char* command : {"train", "eval", "decode", "sample", "ops", "profile", "attention", "plot"}) {
    CAPTURE(command);
    CHECK(contains(top.output, command));
    const CliResult r = run_attograd({command, "--help"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.output, "--help"));
  }
  CHECK(contains(run_attograd({"attention", "--help"}).output, "--layers"));
  CHECK(contains(run_attograd({"plot", "--help"}).output, "--log-loss"));
  CHECK(contains(run_attograd({"train", "--help"}).output, "--plot"));
}

TEST_CASE("ops marks linear and matmul, and no other op, as having bf16 kernels") {
  const CliResult r = run_attograd({"ops"});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  std::istringstream lines(r.output);
  int ops = 0, marked = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name, second;
    words >> name >> second;
    ++ops;
    const bool bf16 = second == "bf16";
    marked += bf16;
    CHECK_MESSAGE(bf16 == (name == "linear" || name == "matmul"), line);
  }
  CHECK(ops >= 33);
  CHECK(marked == 2);
}

TEST_CASE("bad flags and values end with a message naming the problem and a non-zero exit") {
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases{
      {{"train", "copy", "--bogus"}, "--bogus"},
      {{"train", "copy", "--heads", "3", "--d-model", "32", "--steps", "1"}, "--heads 3 does not divide --d-model 32"},
      {{"train", "copy", "--dropout", "2"}, "--dropout"},
      {{"train", "copy", "--steps", "0"}, "--steps"},
      {{"train", "copy", "--steps", "1", "--plot", "curves.gif"}, "curves.gif"},
      {{"train", "lm", "--steps", "1", "--data", "/nonexistent/corpus.txt"}, "/nonexistent/corpus.txt"},
      {{"train", "bogus"}, "bogus"},
      {{"decode", "copy", "--load", "/nonexistent/model.safetensors", "--input", "1 2"}, "/nonexistent/model.safetensors"},
      {{"decode", "copy", "--input", "1 2"}, "--load"},
      {{"eval", "copy", "--load", "/nonexistent/model.safetensors"}, "/nonexistent/model.safetensors"},
      {{"attention", "copy", "--load", "/nonexistent/m.safetensors", "--input", "1", "--out", "a.svg"}, "/nonexistent/m.safetensors"},
      {{"plot", "/nonexistent/metrics.jsonl", "--out", "c.svg"}, "/nonexistent/metrics.jsonl"},
      {{"plot"}, "metrics"},
      {{"frobnicate"}, "frobnicate"},
  };
  for (const Case& c : cases) {
    const CliResult r = run_attograd(c.args);
    INFO("attograd " << joined(c.args));
    INFO(r.output);
    CHECK(r.signal == 0);
    CHECK(r.exit_code != 0);
    CHECK(contains(r.output, c.named));
  }
}

TEST_CASE("a --save path that cannot be written is refused before the first step") {
  const std::string file = scratch("not_a_directory.txt");
  write_file(file, "x");
  const std::string read_only = scratch("read_only");
  std::filesystem::create_directories(read_only);
  std::filesystem::permissions(read_only, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  struct Case {
    std::string save, named;
  };
  std::vector<Case> cases{
      {"/nonexistent/run/model.safetensors", "the directory '/nonexistent/run' does not exist"},
      {file + "/model.safetensors", "'" + file + "' is not a directory"},
      {scratch(""), "it is a directory, not a regular file"},
  };
  if (::geteuid() != 0)  // root may write anywhere
    cases.push_back({read_only + "/model.safetensors", "the directory '" + read_only + "' is not writable"});
  for (const Case& c : cases) {
    const std::vector<std::string> args{"train", "copy", "--steps", "400", "--save", c.save, "--quiet"};
    const CliResult r = run_attograd(args);
    INFO("attograd " << joined(args));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "[train] --save '" + c.save + "'"));
    CHECK(contains(r.output, c.named));
    CHECK_FALSE(contains(r.output, "parameters,"));  // the start-of-training line
  }
  std::filesystem::permissions(read_only, std::filesystem::perms::owner_all);
}

TEST_CASE("inputs a checkpoint's task cannot read are refused naming the token") {
  const std::string& model = trained_copy_model();
  const CliResult r = run_attograd({"decode", "copy", "--load", model, "--input", "1 2 99"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "'99'"));
  const CliResult picture = run_attograd({"attention", "copy", "--load", model, "--input", "1 2", "--out", "a.gif"});
  CHECK(picture.exit_code == 1);
  CHECK(contains(picture.output, "a.gif"));
}

TEST_CASE("eval --data reads source<TAB>target lines and names a malformed line") {
  const std::string& model = trained_copy_model();
  const std::string data = scratch("copy_examples.tsv");
  write_file(data, "1 2 3 4 5 6 7 8 9 10\t1 2 3 4 5 6 7 8 9 10\n1 5 5 2 8 3 3 9 4 7\t1 5 5 2 8 3 3 9 4 7\n");
  const CliResult r = run_attograd({"eval", "copy", "--load", model, "--data", data, "--threads", "1"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.output, "over 18 target tokens"));
  CHECK(contains(r.output, "exact match (greedy decoding) 100.00% of 2 examples"));

  const std::string bad = scratch("bad_examples.tsv");
  write_file(bad, "1 2 3\t1 2 3\n1 2 3 no tab here\n");
  const CliResult e = run_attograd({"eval", "copy", "--load", model, "--data", bad});
  CHECK(e.exit_code == 1);
  CHECK(contains(e.output, bad + ":2:"));
  write_file(bad, "1 2 3\t1 2 3\n\n1 2 3\t1 2 x\n");
  const CliResult token = run_attograd({"eval", "copy", "--load", model, "--data", bad});
  CHECK(token.exit_code == 1);
  CHECK(contains(token.output, bad + ":3:"));
  CHECK(contains(token.output, "'x'"));
}

TEST_CASE("decode with a beam of 3 returns the copy a trained copy model learnt") {
  const std::string& model = trained_copy_model();
  for (const char* input : {"1 2 3 4 5 6 7 8 9 10", "1 9 9 4 4 2 7 10 3 5", "1 10 9 8 7 6 5 4 3 2"}) {
    CAPTURE(input);
    for (const char* beam : {"1", "3"}) {
      const CliResult r = run_attograd({"decode", "copy", "--load", model, "--input", input, "--beam", beam, "--threads", "1"});
      INFO(r.output);
      CHECK(r.exit_code == 0);
      CHECK(r.output == std::string(input) + "\n");
    }
  }
}

}  // namespace
}  // namespace attograd::test
