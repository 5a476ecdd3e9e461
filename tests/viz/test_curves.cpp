#include <doctest/doctest.h>

#include <sstream>

#include "engine/error.hpp"
#include "viz/curves.hpp"
#include "viz/scale.hpp"
#include "viz_check.hpp"

using namespace attograd;

namespace {

// A run with `train` training records (every one with loss, lr, tokens/s)
// and an evaluation record every 5th step, with accuracy if `accuracy`.
MetricsRun make_run(const std::string& name, int train, bool accuracy, double scale = 1) {
  MetricsRun run{name, {}};
  for (int i = 1; i <= train; ++i) {
    MetricRecord r;
    r.step = i * 10;
    r.loss = scale * (6.0 / i + 1.5);
    r.lr = 1e-3 * std::min(1.0, i / 5.0);
    r.tokens_per_s = 4000 + 25 * i;
    run.records.push_back(r);
    if (i % 5 == 0) {
      MetricRecord e;
      e.step = i * 10;
      e.eval_loss = scale * (6.5 / i + 1.7);
      if (accuracy) e.accuracy = 0.1 + 0.02 * i;
      run.records.push_back(e);
    }
  }
  return run;
}

std::vector<std::string> panel_metrics(const nlohmann::json& summary) {
  std::vector<std::string> ids;
  for (const auto& p : summary["panels"]) ids.push_back(p["metric"]);
  return ids;
}

}  // namespace

TEST_CASE("a curve plot has one polyline vertex per record in every panel") {
  std::vector<MetricsRun> runs{make_run("baseline", 23, true), make_run("wide", 12, true, 0.8)};
  nlohmann::json s = test::svg_summary(plot_curves(runs), "curves.svg");
  CHECK(panel_metrics(s) == std::vector<std::string>{"loss", "lr", "tokens_per_s", "accuracy"});
  nlohmann::json expected = {{"baseline/loss", 23}, {"baseline/eval_loss", 4}, {"baseline/lr", 23},
                             {"baseline/tokens_per_s", 23}, {"baseline/accuracy", 4},
                             {"wide/loss", 12}, {"wide/eval_loss", 2}, {"wide/lr", 12},
                             {"wide/tokens_per_s", 12}, {"wide/accuracy", 2}};
  CHECK(s["series"] == expected);
  // Every series here has at most 40 points, so each point also has a marker.
  CHECK(s["markers"] == 23 * 3 + 4 * 2 + 12 * 3 + 2 * 2);
}

TEST_CASE("the legend names every run and the panels are titled") {
  std::vector<MetricsRun> runs{make_run("baseline", 5, false), make_run("wide", 5, false)};
  CurveOptions options;
  options.title = "WMT <small> & fast";
  nlohmann::json s = test::svg_summary(plot_curves(runs, options), "legend.svg");
  auto has_text = [&](const std::string& t) {
    return std::find(s["texts"].begin(), s["texts"].end(), t) != s["texts"].end();
  };
  CHECK(has_text("WMT <small> & fast"));
  CHECK(has_text("baseline"));
  CHECK(has_text("wide"));
  CHECK(has_text("training"));
  CHECK(has_text("evaluation"));
  CHECK(has_text("Learning rate"));
  CHECK(has_text("step"));
}

TEST_CASE("panels without data are left out, but the loss panel is always there") {
  MetricsRun only_loss{"tiny", {{1, 3.0, {}, {}, {}, {}}, {2, 2.5, {}, {}, {}, {}}}};
  nlohmann::json s = test::svg_summary(plot_curves({only_loss}), "only-loss.svg");
  CHECK(panel_metrics(s) == std::vector<std::string>{"loss"});
  CHECK(s["series"]["tiny/loss"] == 2);
  MetricsRun empty{"empty", {}};
  nlohmann::json e = test::svg_summary(plot_curves({empty}), "empty.svg");
  CHECK(panel_metrics(e) == std::vector<std::string>{"loss"});
  CHECK(std::find(e["texts"].begin(), e["texts"].end(), "no data") != e["texts"].end());
}

TEST_CASE("a log-scale loss plot keeps every point and refuses a loss that is not positive") {
  std::vector<MetricsRun> runs{make_run("a", 30, false)};
  CurveOptions log;
  log.log_loss = true;
  nlohmann::json s = test::svg_summary(plot_curves(runs, log), "log.svg");
  CHECK(s["series"]["a/loss"] == 30);
  runs[0].records[4].loss = 0.0;
  CHECK_THROWS_WITH_AS(plot_curves(runs, log), doctest::Contains("run 'a' has loss = 0 at step 50"),
                       Error);
  CHECK_NOTHROW(plot_curves(runs));
}

TEST_CASE("plotting no runs is an error") {
  CHECK_THROWS_AS(plot_curves({}), Error);
}

// Found by tests/fuzz/fuzz_metrics (an out-of-memory): two accuracies two
// units in the last place apart made the tick loop run until k reached 2^53,
// where k += 1 stops moving, pushing ticks without end.
TEST_CASE("a metric whose values differ only in their last digits is drawn as a flat line") {
  std::istringstream in(R"({"loss":2.847126007080078,"lr":4.4194173824159226e-05,"step":1,"tokens_per_s":7394.643785630372}
{"loss":2.7895209789276123,"lr":4.838834764831845e-05,"step":2,"tokens_acr_s":7989964893125}
{"accuracy":0.10296296296296296,"eval_loss":2.749999237060547,"step":3}
{"loss":2.84847426414489002851486206013258252147247768,"step":3,"tokens_per_s":6336.7689964893125}
{"accuracy":0.10296296296296296,"eva:l_loss":2.749999237060547,"step":3}
{"loss":2.84847426414489002851486206,"lr":0.00013258252147247768,"step":3,"tokens_per_s":6336.7689964893125}
{"accuracy":0.10296296296296294,"eval_loss":2.749999237060547,"s_loss":2.7224562644958494,"exact_match":0.0,"step":9}
)");
  const MetricsRun run = parse_metrics(in, "fuzz", "metrics-oom.jsonl");
  nlohmann::json s = test::svg_summary(plot_curves({run}), "flat.svg");
  CHECK(s["series"]["fuzz/accuracy"] == 2);
  CHECK(nice_ticks(0.10296296296296294, 0.10296296296296296) ==
        std::vector<double>{0.10296296296296294, 0.10296296296296296});
  const auto [lo, hi] = nice_domain(0.10296296296296294, 0.10296296296296296, false);
  CHECK(lo < 0.1);
  CHECK(hi > 0.11);
}
