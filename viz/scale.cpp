// Tick placement follows the usual 1-2-5 rule (Heckbert, "Nice numbers for
// graph labels", Graphics Gems 1990): the step is the 1, 2 or 5 times a power
// of ten closest to range/target, and ticks are integer multiples of it.
#include "viz/scale.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

namespace attograd {
namespace {

// The tick step as factor x 10^exponent, factor in {1, 2, 5, 10}; thresholds
// at the geometric means (sqrt 2, sqrt 10, sqrt 50) as d3's tickStep does.
struct Step {
  double factor;
  int exponent;
  double value() const { return at(1); }
  // k steps, computed so that 3 x 0.2 is 0.6 and not 0.6000000000000001.
  double at(double k) const {
    return exponent >= 0 ? k * factor * std::pow(10.0, exponent) : k * factor / std::pow(10.0, -exponent);
  }
};

Step nice_step(double range, int target) {
  double raw = range / std::max(target, 1);
  // A range of 0, Inf or NaN (values near +-1e308 in a hostile file) has no
  // decade: converting its log to int would be undefined behaviour.
  const double decade = std::floor(std::log10(raw));
  const int exponent = std::isfinite(decade) ? static_cast<int>(std::clamp(decade, -300.0, 300.0)) : 0;
  double residual = raw / std::pow(10.0, exponent);
  double factor = residual >= 7.07 ? 10 : residual >= 3.16 ? 5 : residual >= 1.41 ? 2 : 1;
  return {factor, exponent};
}

// Largest (down) or smallest (up) value of the form {1,2,5} x 10^k around v > 0.
double nice_125(double v, bool up) {
  double decade = std::pow(10.0, std::floor(std::log10(v)));
  const std::array<double, 4> factors{1, 2, 5, 10};
  double best = up ? decade * 10 : decade;
  for (double f : factors) {
    double c = f * decade;
    if (up && c >= v * (1 - 1e-12)) return c;
    if (!up && c <= v * (1 + 1e-12)) best = c;
  }
  return best;
}

std::vector<double> multiples_in(double lo, double hi, const std::vector<double>& factors) {
  std::vector<double> ticks;
  for (int e = static_cast<int>(std::floor(std::log10(lo))); e <= std::ceil(std::log10(hi)); ++e)
    for (double f : factors) {
      double v = f * std::pow(10.0, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
    }
  return ticks;
}

}  // namespace

double AxisScale::operator()(double value) const {
  double a = log ? std::log10(lo) : lo;
  double b = log ? std::log10(hi) : hi;
  double v = log ? std::log10(value) : value;
  if (b == a) return (from + to) / 2;
  return from + (v - a) / (b - a) * (to - from);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  Step step = nice_step(hi - lo, target);
  const double first = std::ceil(lo / step.value() - 1e-9);
  // A range a few units in the last place wide (0.10296296296296294 to
  // ...296) has a step so small that k reaches 2^53, where k += 1 no longer
  // moves: the loop never ended. Such a range has no round ticks.
  if (!(std::abs(first) < 1e15)) return {lo, hi};
  std::vector<double> ticks;
  for (double k = first; step.at(k) <= hi + step.value() * 1e-9 && ticks.size() < 1000; k += 1)
    ticks.push_back(k == 0 ? 0.0 : step.at(k));
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(hi > lo) || lo <= 0) return {lo};
  double decades = std::log10(hi / lo);
  std::vector<double> ticks;
  if (decades >= 3) {
    ticks = multiples_in(lo, hi, {1});
    int keep_every = static_cast<int>(std::ceil(ticks.size() / 7.0));
    std::vector<double> thinned;
    for (size_t i = 0; i < ticks.size(); i += keep_every) thinned.push_back(ticks[i]);
    return thinned;
  }
  ticks = multiples_in(lo, hi, decades >= 1 ? std::vector<double>{1, 2, 5}
                                            : std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  if (ticks.size() < 2) ticks = nice_ticks(lo, hi, 4);
  return ticks;
}

std::pair<double, double> nice_domain(double lo, double hi, bool log) {
  if (log) {
    if (!(hi > lo)) { lo /= 2; hi *= 2; }
    return {nice_125(lo, false), nice_125(hi, true)};
  }
  // Values that differ only in their last digits are drawn as one flat line.
  if (!(hi - lo > std::max(std::abs(lo), std::abs(hi)) * 1e-12)) {
    double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  Step step = nice_step(hi - lo, 5);
  return {step.at(std::floor(lo / step.value() + 1e-9)), step.at(std::ceil(hi / step.value() - 1e-9))};
}

std::string format_tick(double value) {
  value = std::stod(fmt::format("{:.4g}", value));  // so 9999.97 reads "10k", not "1e+04"
  double a = std::abs(value);
  if (a < 1e-12) return "0";
  if (a >= 1e4) {
    const std::array<std::pair<double, const char*>, 4> si{
        {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}}};
    for (auto [base, suffix] : si)
      if (a >= base) return fmt::format("{:.4g}{}", value / base, suffix);
  }
  if (a < 1e-3) {
    int e = static_cast<int>(std::floor(std::log10(a) + 1e-9));
    return fmt::format("{:.4g}e{}", value / std::pow(10.0, e), e);
  }
  return fmt::format("{:.4g}", value);
}

std::vector<std::string> format_ticks(const std::vector<double>& ticks) {
  double largest = 0;
  for (double t : ticks) largest = std::max(largest, std::abs(t));
  bool exponent = largest < 0.01;
  double base = largest >= 1e9 ? 1e9 : largest >= 1e6 ? 1e6 : 1e3;
  const char* suffix = base == 1e9 ? "G" : base == 1e6 ? "M" : "k";
  std::vector<std::string> labels;
  for (double t : ticks) {
    double rounded = std::stod(fmt::format("{:.4g}", t));
    if (rounded == 0) {
      labels.push_back("0");
    } else if (exponent) {
      int e = static_cast<int>(std::floor(std::log10(std::abs(rounded)) + 1e-9));
      labels.push_back(fmt::format("{:.4g}e{}", rounded / std::pow(10.0, e), e));
    } else if (largest >= 1e4) {
      labels.push_back(fmt::format("{:.4g}{}", rounded / base, suffix));
    } else {
      labels.push_back(format_tick(t));
    }
  }
  return labels;
}

std::string viridis(double t) {
  // matplotlib's viridis sampled at 11 evenly spaced points.
  static const std::array<std::array<int, 3>, 11> stops{{
      {68, 1, 84}, {72, 36, 117}, {65, 68, 135}, {53, 95, 141}, {42, 120, 142}, {33, 145, 140},
      {34, 168, 132}, {68, 191, 112}, {122, 209, 81}, {189, 223, 38}, {253, 231, 37}}};
  t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
  double pos = t * (stops.size() - 1);
  size_t i = std::min(static_cast<size_t>(pos), stops.size() - 2);
  double f = pos - i;
  auto mix = [&](int c) { return static_cast<int>(std::lround(stops[i][c] * (1 - f) + stops[i + 1][c] * f)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2));
}

std::string run_colour(size_t i) {
  static const std::array<const char*, 7> palette{"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                  "#e69f00", "#56b4e9", "#000000"};
  return palette[i % palette.size()];
}

}  // namespace attograd
