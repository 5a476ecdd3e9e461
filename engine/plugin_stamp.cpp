// Why demangle: dlopen names one undefined symbol, mangled; the signature
// shows the standard library's mode (std::__debug:: containers under
// _GLIBCXX_DEBUG, std::__cxx11:: strings) or an attograd function. A symbol
// is bounded before demangling: the name comes from a file the user gave.
#include "engine/plugin_stamp.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace attograd {
namespace {

std::string flag_mismatch(const char* flag, std::uint32_t plugin, std::uint32_t host) {
  return fmt::format("ABI mismatch: {} is {} in the plugin but {} in this attograd; build the plugin with the same "
                     "compiler and flags as attograd",
                     flag, plugin, host);
}

std::string demangled(const std::string& symbol) {
  if (symbol.size() > kMaxDemangledSymbol) return symbol;  // the demangler recurses as deep as the name nests
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status),
                                                   &std::free);
  return status == 0 && name ? std::string(name.get()) : symbol;
}

}  // namespace

// What differs, from dlopen's "<file>: undefined symbol: <mangled>": the
// standard library's mode as the signature shows it (compared with this
// attograd's stamp), else a symbol of attograd's that this version lacks.
std::string explain_load_error(const std::string& error) {
  const std::string marker = "undefined symbol: ";
  const std::size_t at = error.find(marker);
  if (at == std::string::npos) return "not a loadable shared library: " + error;
  const std::size_t begin = at + marker.size();
  const std::string symbol = demangled(error.substr(begin, error.find_first_of(" ,", begin) - begin));
  const std::string needs = fmt::format(" (it needs {}, which this attograd does not define)", symbol);
  static constexpr AbiStamp host = abi_stamp_here();
  auto has = [&](const char* text) { return symbol.find(text) != std::string::npos; };
  const bool debug = has("std::__debug::"), cxx11 = has("std::__cxx11::");
  if (debug != (host.debug_containers != 0) && (debug || has("std::vector<") || has("std::map<")))
    return flag_mismatch("_GLIBCXX_DEBUG", debug, host.debug_containers) + needs;
  if (cxx11 != (host.cxx11_string_abi != 0) && (cxx11 || has("std::basic_string<") || has("std::string")))
    return flag_mismatch("_GLIBCXX_USE_CXX11_ABI", cxx11, host.cxx11_string_abi) + needs;
  if (symbol.rfind("attograd::", 0) == 0)
    return fmt::format("it needs {}, which this attograd does not define: the plugin was built against another "
                       "version of attograd; rebuild it against this one",
                       symbol);
  return fmt::format("not a loadable shared library: undefined symbol {} ({})", symbol, error);
}

std::string abi_mismatch(const AbiStamp& plugin, const AbiStamp& host) {
  if (plugin.version != host.version)
    return fmt::format("ABI version mismatch: the plugin was built against ABI version {}, this attograd has "
                       "version {}; rebuild the plugin against this attograd",
                       plugin.version, host.version);
  struct Field {
    const char* what;
    std::uint32_t AbiStamp::*member;
  };
  static constexpr Field fields[] = {
      {"compiler (1 gcc, 2 clang)", &AbiStamp::compiler},
      {"compiler major version", &AbiStamp::compiler_major},
      {"_GLIBCXX_USE_CXX11_ABI", &AbiStamp::cxx11_string_abi},
      {"_GLIBCXX_DEBUG", &AbiStamp::debug_containers},
      {"sizeof(std::string)", &AbiStamp::sizeof_string},
      {"sizeof(std::function)", &AbiStamp::sizeof_function},
      {"sizeof(std::shared_ptr)", &AbiStamp::sizeof_shared_ptr},
      {"sizeof(Tensor)", &AbiStamp::sizeof_tensor},
      {"sizeof(Attributes)", &AbiStamp::sizeof_attributes},
      {"sizeof(OpSchema)", &AbiStamp::sizeof_op_schema},
      {"sizeof(GradcheckInput)", &AbiStamp::sizeof_gradcheck_input},
  };
  for (const Field& f : fields)
    if (plugin.*f.member != host.*f.member) return flag_mismatch(f.what, plugin.*f.member, host.*f.member);
  return {};
}

}  // namespace attograd
