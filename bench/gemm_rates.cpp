// gemm_rates: attograd's own GEMM (ops/gemm/) against OpenBLAS on the
// Transformer step's linear-layer products, one thread.
//
//   build/bench/gemm_rates [--rounds 5] [--m 300,2048]
//
// Shapes: M tokens through a linear layer in -> out with (in, out) of
// (D, D), (D, F), (F, D), D = 512, F = 2048, in the three forms a step runs:
//   fwd   Y  (M, out) = X (M, in) · Wᵀ       (W stored (out, in))
//   dgrad dX (M, in)  = dY (M, out) · W
//   wgrad dW (out, in) = dYᵀ · X            (contraction over the M tokens)
// Variants: OpenBLAS sgemm as one call; OpenBLAS as attograd calls it
// today (gemm::rows: fixed row blocks, split_contraction for long wgrad);
// own fp32 with op(B) packed per call; own fp32 with the weight packed in
// advance (fwd, dgrad); own bf16 (AVX2 emulation of VDPBF16PS), per call
// and with the weight packed in advance.
//
// Rates are flops / CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID),
// the median of interleaved rounds: on a shared, loaded machine wall-clock
// time counts the time other processes hold the core, CPU time does not.
#include <cblas.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/parallel.hpp"
#include "ops/gemm.hpp"
#include "ops/gemm/multiply.hpp"

using namespace attograd;
using namespace attograd::gemm;

namespace {

const SerialParallel serial;
constexpr double kMeasureSeconds = 0.03;  // one measurement repeats a call this long

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

std::vector<float> random_floats(std::int64_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

enum Form { fwd, dgrad, wgrad };
const char* kFormNames[] = {"fwd", "dgrad", "wgrad"};
const char* kVariantNames[] = {"blas call", "blas rows", "own f32", "own f32 packed", "own bf16", "bf16 packed"};
constexpr int kVariants = 6;

// OpenBLAS the way ops/linear.cpp calls it: gemm::rows on an OpContext
// whose Parallel runs the blocks in order on this thread.
const OpContext& serial_context() {
  static const OpContext context(OpContext::Wiring{.parallel = &serial});
  return context;
}

// One product C (m, n) = op(A) (m, k) · op(B) (k, n) of a layer's form.
struct Product {
  std::int64_t m, n, k;
  bool ta, tb;
  std::vector<float> a, b, c;
  PackedMatrix packed_f32, packed_bf16;

  Product(std::int64_t m_, std::int64_t n_, std::int64_t k_, bool ta_, bool tb_)
      : m(m_), n(n_), k(k_), ta(ta_), tb(tb_), a(random_floats(m * k, 1)), b(random_floats(k * n, 2)), c(std::size_t(m * n)),
        packed_f32(serial, k, n, operand_b(), Precision::f32), packed_bf16(serial, k, n, operand_b(), Precision::bf16) {}

  static Product of_layer(std::int64_t tokens, std::int64_t in, std::int64_t out, Form form) {
    if (form == fwd) return Product(tokens, out, in, false, true);
    if (form == dgrad) return Product(tokens, in, out, false, false);
    return Product(out, in, tokens, true, false);
  }

  Operand operand_a() const { return {a.data(), ta ? m : k, ta}; }
  Operand operand_b() const { return {b.data(), tb ? k : n, tb}; }
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }

  void run(int variant) {
    const Operand oa = operand_a(), ob = operand_b();
    switch (variant) {
      case 0: return gemm::call(ta, tb, m, n, k, a.data(), oa.ld, b.data(), ob.ld, 0.0f, c.data());
      case 1: return gemm::rows<float>(serial_context(), ta, tb, m, n, k, a.data(), oa.ld, b.data(), ob.ld, c.data());
      case 2: return multiply(serial, m, n, k, oa, ob, c.data(), n);
      case 3: return multiply(serial, m, oa, packed_f32, c.data(), n);
      case 4: return multiply(serial, m, n, k, oa, ob, c.data(), n, {}, {Precision::bf16});
      default: return multiply(serial, m, oa, packed_bf16, c.data(), n);
    }
  }
};

// GFLOP/s of one measurement: calls repeated for about kMeasureSeconds of
// this thread's CPU time.
double measure(Product& p, int variant) {
  const double start = thread_seconds();
  std::int64_t calls = 0;
  do {
    p.run(variant);
    ++calls;
  } while (thread_seconds() - start < kMeasureSeconds);
  return p.flops() * double(calls) / (thread_seconds() - start) * 1e-9;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Row {
  std::int64_t tokens, in, out;
  Form form;
  std::vector<double> rates[kVariants];
};

bool packed_variant_applies(int variant, Form form) { return !((variant == 3 || variant == 5) && form == wgrad); }

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  std::vector<std::int64_t> token_counts{300, 2048};
  std::vector<bool> measured(kVariants, true);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--m") {
      token_counts.clear();
      for (std::string list = argv[i + 1]; !list.empty();) {
        const std::size_t comma = list.find(',');
        token_counts.push_back(std::stoll(list.substr(0, comma)));
        list = comma == std::string::npos ? "" : list.substr(comma + 1);
      }
    } else if (flag == "--only") {  // one variant's index (0-5), for profiling
      measured.assign(kVariants, false);
      measured[std::size_t(std::clamp(std::atoi(argv[i + 1]), 0, kVariants - 1))] = true;
    } else {
      std::fprintf(stderr, "usage: gemm_rates [--rounds N] [--m 300,2048] [--only variant]\n");
      return 2;
    }
  }
  constexpr std::int64_t D = 512, F = 2048;
  const std::int64_t layers[][2] = {{D, D}, {D, F}, {F, D}};
  const double layer_weight[] = {3.0 / 7, 2.0 / 7, 2.0 / 7};  // FLOP share of a step (as the notes)
  std::vector<Row> rows;
  for (std::int64_t tokens : token_counts)
    for (const auto& layer : layers)
      for (Form form : {fwd, dgrad, wgrad}) rows.push_back({tokens, layer[0], layer[1], form, {}});

  std::printf("# own GEMM (kernels: %s) vs OpenBLAS, one thread\n", kernels(Isa::best).name);
  std::printf("# GFLOP/s = flops / calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), median of %d interleaved\n"
              "# rounds. The machine is shared and loaded: wall-clock rates are unreliable and not shown.\n\n",
              rounds);
  for (int round = 0; round < rounds; ++round)
    for (Row& row : rows) {
      Product p = Product::of_layer(row.tokens, row.in, row.out, row.form);
      for (int v = 0; v < kVariants; ++v)
        if (measured[std::size_t(v)] && packed_variant_applies(v, row.form)) row.rates[v].push_back(measure(p, v));
    }

  std::printf("| M | in | out | form |");
  for (const char* name : kVariantNames) std::printf(" %s |", name);
  std::printf(" own f32 / blas rows | packed / blas rows |\n|---|---|---|---|");
  for (int v = 0; v < kVariants + 2; ++v) std::printf("---|");
  std::printf("\n");
  for (const Row& row : rows) {
    std::printf("| %lld | %lld | %lld | %s |", (long long)row.tokens, (long long)row.in, (long long)row.out,
                kFormNames[row.form]);
    for (int v = 0; v < kVariants; ++v)
      row.rates[v].empty() ? std::printf(" - |") : std::printf(" %.1f |", median(row.rates[v]));
    const double rows_rate = median(row.rates[1]);
    const double packed = row.rates[3].empty() ? median(row.rates[2]) : median(row.rates[3]);
    std::printf(" %.2f | %.2f |\n", median(row.rates[2]) / rows_rate, packed / rows_rate);
  }
  // Step-weighted: harmonic mean over the 3 layers x 3 forms by FLOP share
  // (the packed columns fall back to per-call packing for wgrad).
  std::printf("\nstep-weighted GFLOP/s (harmonic, by FLOP share):\n");
  for (std::int64_t tokens : token_counts) {
    std::printf("  M = %lld:", (long long)tokens);
    for (int v = 0; v < kVariants; ++v) {
      double seconds = 0;
      for (const Row& row : rows) {
        if (row.tokens != tokens) continue;
        const int layer = row.out == row.in ? 0 : row.out > row.in ? 1 : 2;
        const bool falls_back = row.rates[v].empty() && (v == 3 || v == 5);
        const int used = falls_back ? v - 1 : v;
        seconds += layer_weight[layer] / 3 / median(row.rates[used]);
      }
      std::printf("  %s %.1f", kVariantNames[v], 1 / seconds);
    }
    std::printf("\n");
  }
  return 0;
}
