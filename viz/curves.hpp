// Training curves: one figure with a panel per metric against step.
//
//   panel "loss"          training loss (solid) and evaluation loss (dashed)
//   panel "lr"            learning rate
//   panel "tokens_per_s"  throughput
//   panel "accuracy"      evaluation accuracy
//
// The loss panel is always drawn; the others only when some run has that
// metric. Each run (metrics file) has one colour; a legend names the runs and
// tells the training (solid) from the evaluation (dashed) lines.
//
// Counting points: each panel is a <g class="panel" data-metric="..">; each
// run's metric is one <polyline class="series" data-run="<run name>"
// data-series="loss|eval_loss|lr|tokens_per_s|accuracy"> with exactly one
// vertex ("x,y" in its points attribute) per record that carries that metric.
// Values that are not finite are left out.
//
//   std::vector<MetricsRun> runs{read_metrics("a.jsonl"), read_metrics("b.jsonl")};
//   CurveOptions options;
//   options.log_loss = true;
//   save_drawing(plot_curves(runs, options), "curves.svg");
#pragma once

#include <string>
#include <vector>

#include "viz/metrics.hpp"
#include "viz/svg.hpp"

namespace attograd {

struct CurveOptions {
  bool log_loss = false;   // log-scale y for the loss panel
  std::string title;       // drawn above the legend when not empty
  double width = 960;      // whole figure, pixels
  double height = 680;
};

// Throws Error "[plot] ..." for no runs, or for log_loss with a loss <= 0
// (naming the run and step).
Svg plot_curves(const std::vector<MetricsRun>& runs, const CurveOptions& options = {});

}  // namespace attograd
