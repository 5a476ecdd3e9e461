// What a training run writes besides its checkpoint, against unlucky use:
// a resumed run's metrics hold each step once, a picture destination that
// cannot be written fails before training, and two trainers cannot save to
// one path.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "cli_check.hpp"

namespace attograd::test {
namespace {

// Step -> how many records of `kind` ("loss" or "eval_loss") the file holds for it.
std::map<long, int> records_per_step(const std::string& metrics, const char* kind) {
  std::map<long, int> count;
  for (const nlohmann::json& r : metrics_records(metrics))
    if (r.contains(kind)) ++count[r["step"].get<long>()];
  return count;
}

std::map<long, int> once_each(long first, long last, long every = 1) {
  std::map<long, int> m;
  for (long s = first; s <= last; s += every) m[s] = 1;
  return m;
}

}  // namespace

TEST_CASE("a resumed run drops the metrics of steps after its checkpoint, keeping every earlier record") {
  const std::string metrics = scratch("resumed.jsonl"), at6 = scratch("at6.safetensors"),
                    later = scratch("later.safetensors");
  train_tiny("copy", {"--steps", "6", "--eval-every", "3", "--save", at6, "--metrics", metrics});
  const std::map<long, double> first_run = train_losses(metrics);
  // An interrupted run went on to step 8 after the checkpoint at step 6.
  train_tiny("copy", {"--resume", at6, "--steps", "8", "--eval-every", "3", "--save", later, "--metrics", metrics});
  REQUIRE(records_per_step(metrics, "loss") == once_each(1, 8));

  const CliResult r = train_tiny("copy", {"--resume", at6, "--steps", "9", "--eval-every", "3", "--metrics", metrics});
  CHECK(contains(r.output, "dropped 3 record(s) of steps after 6 from '" + metrics + "'"));
  CHECK(records_per_step(metrics, "loss") == once_each(1, 9));
  CHECK(records_per_step(metrics, "eval_loss") == once_each(3, 9, 3));
  const std::map<long, double> now = train_losses(metrics);
  for (long step = 1; step <= 6; ++step) CHECK(now.at(step) == first_run.at(step));
}

TEST_CASE("plot keeps the last value a metrics file holds for a step") {
  const std::string metrics = scratch("twice.jsonl"), out = scratch("twice.svg");
  write_file(metrics, "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": 2}\n{\"step\": 2, \"eval_loss\": 2.5}\n"
                      "{\"step\": 2, \"loss\": 1.5}\n{\"step\": 3, \"loss\": 1}\n");
  const CliResult r = run_attograd({"plot", metrics, "--out", out});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json s = svg_file_summary(out);
  CHECK(s["series"]["twice/loss"] == 3);
  CHECK(s["series"]["twice/eval_loss"] == 1);
}

TEST_CASE("a --plot destination that cannot be written is refused before the first step") {
  const std::string file = scratch("plain_file.txt"), device = scratch("full.svg");
  write_file(file, "x");
  std::filesystem::create_symlink("/dev/full", device);
  for (const auto& [plot, named] : std::map<std::string, std::string>{
           {file + "/curves.svg", "'" + file + "' is not a directory"},
           {"/nonexistent/curves.svg", "the directory '/nonexistent' does not exist"},
           {device, "it is a character device, not a regular file"}}) {
    const CliResult r = run_attograd({"train", "copy", "--steps", "400", "--plot", plot, "--quiet"});
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "[train] --plot '" + plot + "': " + named));
    CHECK_FALSE(contains(r.output, "parameters,"));  // the start-of-training line
  }
  CHECK(std::filesystem::is_character_file(device));  // still /dev/full, not replaced
}

TEST_CASE("plot onto a path it cannot write fails and leaves no picture") {
  const std::string metrics = scratch("for_plot.jsonl"), file = scratch("plot_parent.txt");
  write_file(metrics, "{\"step\": 1, \"loss\": 2}\n");
  write_file(file, "x");
  const CliResult r = run_attograd({"plot", metrics, "--out", file + "/curves.svg"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, file + "/curves.svg"));
  CHECK(read_file(file) == "x");
}

TEST_CASE("a second trainer saving to the same path is refused at start, naming the path and the first") {
  const std::string save = scratch("shared.safetensors");
  std::vector<std::string> args{"train", "copy", "--steps", "1000000", "--save", save};
  const auto tiny = tiny_model();
  args.insert(args.end(), tiny.begin(), tiny.end());
  BackgroundAttograd first(args);
  // Wait until the first holds the lock (it writes its process id into the lock file); a minute at most.
  for (int i = 0; i < 3000 && first.running() && read_file(save + ".lock") != std::to_string(first.pid()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(first.running());
  REQUIRE(read_file(save + ".lock") == std::to_string(first.pid()));

  const CliResult second = run_attograd(args);
  INFO(second.output);
  CHECK(second.exit_code == 1);
  CHECK(contains(second.output, "'" + save + "' is in use by process " + std::to_string(first.pid())));
  CHECK_FALSE(contains(second.output, "parameters,"));
  CHECK(first.running());
}

TEST_CASE("the save lock is released when a run ends: the next run on the path starts and no lock file is left") {
  const std::string save = scratch("sequential.safetensors");
  train_tiny("copy", {"--steps", "2", "--save", save});
  train_tiny("copy", {"--steps", "2", "--save", save});
  CHECK_FALSE(std::filesystem::exists(save + ".lock"));
}

}  // namespace attograd::test
