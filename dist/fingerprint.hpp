// What must be the same on every rank for the ranks to compute the same
// bits: the build (ELF build ids of the program and of the libraries that
// compute: attograd's own, OpenBLAS, oneTBB) and the parameters the ranks
// start from. Fed to require_identical() (dist/guard.hpp) at start-up.
#pragma once

#include <string>

#include "dist/guard.hpp"
#include "engine/parameters.hpp"

namespace attograd {

// ("build id of attograd", "4f1c..."), ("build id of libopenblas.so.0", ...),
// one fact per loaded object whose name contains attograd, blas or tbb, and
// the main program; sorted by name. An object without a build id is listed
// with "none".
Facts build_facts();

// FNV-1a (64 bit, hex) of every parameter's name, values and optimizer
// state, in the store's order.
std::string parameters_fingerprint(const ParameterStore& store);

}  // namespace attograd
