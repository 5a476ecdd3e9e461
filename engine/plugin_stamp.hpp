// What the plugin loader (engine/plugin.hpp) reads from a plugin before it
// runs any of its C++ code, as pure functions: the AbiStamp comparison and
// the explanation of a dlopen failure. Private to the engine; separate so
// they can be tested and fuzzed (tests/fuzz/fuzz_plugin_stamp.cpp) without
// loading a library.
//
//   abi_mismatch(*stamp, abi_stamp_here())
//   // "ABI version mismatch: the plugin was built against ABI version 1, ..."
#pragma once

#include <string>

#include "engine/plugin_api.hpp"

namespace attograd {

// Empty if the stamps match, else what differs (the ABI version first, then
// the compiler, the standard library's mode and the shared types' sizes).
std::string abi_mismatch(const AbiStamp& plugin, const AbiStamp& host);

// What dlopen's error ("<file>: undefined symbol: <mangled>", or any other)
// means for a plugin: a standard-library flag that differs from this
// attograd's, an attograd function this version lacks, or not a loadable
// library. Demangles at most kMaxDemangledSymbol characters of the symbol.
std::string explain_load_error(const std::string& error);

inline constexpr std::size_t kMaxDemangledSymbol = 4096;

}  // namespace attograd
