// Mapping data values to drawing coordinates, choosing axis ticks, and the
// colours the plots use.
//
//   AxisScale y{0.1, 10, 300, 20, /*log=*/true};   // data 0.1..10 -> pixels 300..20
//   y(1.0) == 160;  nice_ticks(0, 7.3) == {0, 2, 4, 6};  format_tick(3e-4) == "3e-4"
#pragma once

#include <string>
#include <vector>

namespace attograd {

// Linear or base-10 logarithmic map of [lo, hi] onto [from, to]. A log scale
// needs lo > 0. An empty domain (lo == hi) maps everything to the middle.
struct AxisScale {
  double lo = 0;
  double hi = 1;
  double from = 0;
  double to = 1;
  bool log = false;
  double operator()(double value) const;
};

// Round tick values inside [lo, hi], 1-2-5 steps, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// Ticks for a log axis over [lo, hi] (lo > 0): powers of ten, plus 2x and 5x
// (or every integer multiple) when the range spans too few decades.
std::vector<double> log_ticks(double lo, double hi);

// [lo, hi] widened to the enclosing nice tick values (linear) or powers of
// ten (log) so the data never touches the frame; an empty range is widened.
std::pair<double, double> nice_domain(double lo, double hi, bool log);

// Short tick label: "0", "0.25", "120", "12k", "1.5M", "3e-4".
std::string format_tick(double value);

// Labels for the ticks of one axis, in one style: all in exponent form when
// every tick is below 0.01 ("5e-4", "1e-3"), all with the largest tick's SI
// suffix when one reaches 10^4 ("5k", "10k"), otherwise as format_tick.
std::vector<std::string> format_ticks(const std::vector<double>& ticks);

// Viridis (perceptually uniform, colour-blind safe) at t in [0, 1], clamped;
// "#rrggbb".
std::string viridis(double t);

// The i-th colour of a qualitative palette for runs (Okabe-Ito), cycling.
std::string run_colour(size_t i);

}  // namespace attograd
