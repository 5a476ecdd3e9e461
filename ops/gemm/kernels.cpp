#include "ops/gemm/kernels.hpp"

#include "engine/error.hpp"

namespace attograd::gemm {
namespace {

constexpr Kernels kPortable{"portable", tile_f32_portable, tile_bf16_portable};
constexpr Kernels kAvx2{"avx2", tile_f32_avx2, tile_bf16_avx2};

}  // namespace

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::best:
    case Isa::portable:
      return true;
    case Isa::avx2: {
      static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
      return yes;
    }
  }
  return false;
}

Isa best_isa() { return isa_available(Isa::avx2) ? Isa::avx2 : Isa::portable; }

const Kernels& kernels(Isa isa) {
  if (isa == Isa::best) isa = best_isa();
  if (!isa_available(isa)) throw Error("[gemm] this CPU lacks AVX2 + FMA for the avx2 kernels");
  return isa == Isa::avx2 ? kAvx2 : kPortable;
}

}  // namespace attograd::gemm
