// Seeds for fuzz_plugin_stamp from real plugins: for each plugin given,
// writes OUT_DIR/<file name>.stamp holding what the loader would read from it:
// its AbiStamp (or this program's, when dlopen fails) followed by dlopen's
// error message (empty when it loads).
//
//   plugin_seeds fuzz/corpus/plugin_stamp build-fuzz/tests/engine/plugins/*.so
#include <dlfcn.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/plugin_api.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: plugin_seeds OUT_DIR PLUGIN...\n");
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    static constexpr attograd::AbiStamp host = attograd::abi_stamp_here();
    const attograd::AbiStamp* stamp = &host;
    std::string error;
    void* handle = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      error = dlerror();
    } else if (auto abi = reinterpret_cast<const attograd::AbiStamp* (*)()>(dlsym(handle, "attograd_plugin_abi"))) {
      stamp = abi();
    }
    const std::string name = std::filesystem::path(argv[i]).filename().string() + ".stamp";
    std::ofstream out(std::filesystem::path(argv[1]) / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(stamp), sizeof *stamp);
    out << error;
    if (!out) return 1;
  }
  return 0;
}
