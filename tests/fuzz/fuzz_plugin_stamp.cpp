// libFuzzer target: what the plugin loader reads from a plugin before it
// runs any of its C++ code: the AbiStamp (the input's first
// sizeof(AbiStamp) bytes, zero-filled when shorter), compared with this
// attograd's, and a dlopen error message (the rest), explained. Any input
// must give a message, never a crash. scripts/fuzz.sh seeds it from the
// plugins the tests build (plugin_seeds.cpp).
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/plugin_stamp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace attograd;
  AbiStamp stamp{};
  const std::size_t stamp_bytes = std::min(size, sizeof stamp);
  std::memcpy(&stamp, data, stamp_bytes);
  static constexpr AbiStamp host = abi_stamp_here();
  abi_mismatch(stamp, host);
  explain_load_error(std::string(reinterpret_cast<const char*>(data) + stamp_bytes, size - stamp_bytes));
  return 0;
}
