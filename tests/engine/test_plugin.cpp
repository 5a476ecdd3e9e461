#include <doctest/doctest.h>

#include <fmt/format.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "engine/plugin.hpp"
#include "engine/plugin_api.hpp"
#include "ops/builtin.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace fs = std::filesystem;

namespace {

// Paths of the plugins meson built for this test (tests/engine/meson.build).
std::string env_path(const char* variable) {
  const char* v = std::getenv(variable);
  REQUIRE_MESSAGE(v != nullptr, variable << " is not set: run this test through `meson test`");
  return v;
}

// A scratch file name unique to this process.
fs::path scratch(const std::string& name) {
  return fs::temp_directory_path() / ("attograd_test_plugin_" + std::to_string(::getpid()) + "_" + name);
}

// A registry holding the built-in ops, as a host has.
struct HostRegistry {
  HostRegistry() { register_builtin_ops(registry); }
  OpRegistry registry;
};

GradcheckInput values(Shape s, std::vector<double> v) {
  GradcheckInput in;
  in.value = Tensor::from<double>(s, v);
  in.shape = std::move(s);
  return in;
}
GradcheckInput at(Shape s) {
  GradcheckInput in;
  in.shape = std::move(s);
  in.low = -3;
  in.high = 3;
  return in;
}

// load_plugin(path) must throw PluginError "[plugin] <path>: ..." containing
// `expected`, and leave the registry exactly as it was.
void check_refused(const std::string& path, OpRegistry& registry, const std::string& expected) {
  const auto before = registry.names();
  try {
    load_plugin(path, registry);
    FAIL("loading ", path, " must be refused");
  } catch (const PluginError& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.rfind("[plugin] " + path + ": ", 0) == 0, message);
    CHECK_MESSAGE(message.find(expected) != std::string::npos, message);
  }
  CHECK(registry.names() == before);
  CHECK_FALSE(registry.contains("plugin_square"));
}

}  // namespace

TEST_CASE_FIXTURE(HostRegistry, "the swiglu plugin registers its op under the plugin's path") {
  const std::string path = env_path("SWIGLU_PLUGIN");
  const PluginInfo info = load_plugin(path, registry);
  CHECK(info.path == path);
  CHECK(info.ops == std::vector<std::string>{"swiglu"});
  CHECK(registry.schema("swiglu").origin == path);
  CHECK(registry.schema("add").origin == "builtin");
}

TEST_CASE("swiglu computes silu(a) * b over the halves of the last axis, in f32 and f64") {
  OpRegistry registry;
  load_plugin(env_path("SWIGLU_PLUGIN"), registry);
  auto swiglu = [&](Graph&, const std::vector<Expr>& x) { return apply("swiglu", {x[0]}, {}, registry); };
  // rows [a | b]: silu(1) = 1 / (1 + e^-1), silu(-2) = -2 / (1 + e^2), silu(0) = 0
  const auto x = values({2, 4}, {1, -2, 3, 0.5, 0, 4, -1, 2});
  const double silu1 = 1 / (1 + std::exp(-1.0)), silu_2 = -2 / (1 + std::exp(2.0)), silu4 = 4 / (1 + std::exp(-4.0));
  const std::vector<double> expected = {silu1 * 3, silu_2 * 0.5, 0, silu4 * 2};
  check_close(run_forward(swiglu, {x}, DType::f32), expected, 1e-6);
  check_close(run_forward(swiglu, {x}, DType::f64), expected, 1e-12);
}

TEST_CASE("swiglu gradients match finite differences and agree across backends") {
  OpRegistry registry;
  load_plugin(env_path("SWIGLU_PLUGIN"), registry);
  auto swiglu = [&](Graph&, const std::vector<Expr>& x) { return apply("swiglu", {x[0]}, {}, registry); };
  for (const Shape& s : {Shape{2}, Shape{3, 4}, Shape{2, 3, 10}, Shape{1, 1, 2}}) check_gradcheck(swiglu, {at(s)});
  check_gradcheck(swiglu, {values({1, 4}, {-30, 30, 2, -2})});  // saturated sigmoid on both sides
  check_backends_agree(swiglu, {at({3, 4})});
  check_backends_agree(swiglu, {at({70, 600})});  // several parallel_for blocks
}

TEST_CASE("swiglu rejects inputs without an even, non-empty last axis") {
  OpRegistry registry;
  load_plugin(env_path("SWIGLU_PLUGIN"), registry);
  Graph g;
  auto swiglu = [&](Expr x) { return apply("swiglu", {x}, {}, registry); };
  CHECK_THROWS_WITH_AS(swiglu(input(g, "odd", {DType::f32, {2, 3}})),
                       doctest::Contains("[swiglu] needs a floating input (..., 2F) with F > 0, got f32(2, 3)"),
                       ShapeError);
  CHECK_THROWS_AS(swiglu(input(g, "ids", {DType::i32, {2, 4}})), ShapeError);
  CHECK_THROWS_AS(swiglu(input(g, "scalar", {DType::f32, {}})), ShapeError);
  CHECK_THROWS_AS(swiglu(input(g, "empty", {DType::f32, {2, 0}})), ShapeError);
}

TEST_CASE("a model trained through the plugin op lowers its loss") {
  OpRegistry registry;
  load_plugin(env_path("SWIGLU_PLUGIN"), registry);
  ParameterStore store(3);
  Graph g(&store);
  Expr p = parameter(g, "p", {4, 6}, Init::uniform(-1, 1));
  Expr target = constant(g, Tensor::full(DType::f32, {4, 3}, 0.5));
  Expr d = apply("swiglu", {p}, {}, registry) - target;
  Expr loss = mean(d * d);
  Executor ex(Backend::tbb, 2);
  std::vector<double> losses;
  for (int step = 0; step < 30; ++step) {
    ex.forward(g, {}, {loss.id});
    losses.push_back(ex.value(loss.id).item());
    ex.backward(loss.id);
    Parameter& param = store.at("p");
    for (std::int64_t i = 0; i < param.value.numel(); ++i) param.value.data<float>()[i] -= 4.0f * param.grad.data<float>()[i];
    store.zero_grad();
  }
  CHECK(losses.back() < 0.5 * losses.front());
  for (std::size_t i = 1; i < losses.size(); ++i) CHECK(losses[i] <= losses[i - 1]);
}

TEST_CASE_FIXTURE(HostRegistry, "files that are not plugins are refused with the reason") {
  check_refused(scratch("missing.so").string(), registry, "no such file");
  check_refused(fs::temp_directory_path().string(), registry, "is a directory");

  const fs::path text = scratch("text.so");
  std::ofstream(text) << "not a shared library\n";
  check_refused(text.string(), registry, "not a loadable shared library");
  fs::remove(text);

  // A real shared library without the entry points.
  check_refused(env_path("ENGINE_LIBRARY"), registry, "missing entry point attograd_plugin_abi()");
  check_refused(env_path("BROKEN_NO_REGISTER"), registry, "missing entry point attograd_plugin_register()");
}

TEST_CASE_FIXTURE(HostRegistry, "plugins built against another ABI are refused before their code runs") {
  // broken_plugin.cpp stamps ATTOGRAD_ABI_VERSION + 1000.
  check_refused(env_path("BROKEN_WRONG_ABI"), registry,
                fmt::format("ABI version mismatch: the plugin was built against ABI version {}, this attograd has "
                            "version {}", ATTOGRAD_ABI_VERSION + 1000, ATTOGRAD_ABI_VERSION));
  check_refused(env_path("BROKEN_WRONG_COMPILER"), registry, "ABI mismatch: compiler major version is");
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin built with _GLIBCXX_DEBUG is refused naming the flag, not a mangled symbol") {
#if defined(_GLIBCXX_DEBUG)
  MESSAGE("skipped: this attograd is built with _GLIBCXX_DEBUG too");
#else
  check_refused(env_path("BROKEN_DEBUG_CONTAINERS"), registry,
                "ABI mismatch: _GLIBCXX_DEBUG is 1 in the plugin but 0 in this attograd; build the plugin with the "
                "same compiler and flags as attograd (it needs attograd::");
  check_refused(env_path("BROKEN_DEBUG_CONTAINERS"), registry, "std::__debug::vector<long");
#endif
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin that needs a function this attograd lacks is refused naming it") {
  check_refused(env_path("BROKEN_NEWER_ENGINE"), registry,
                "it needs attograd::function_of_a_newer_attograd(), which this attograd does not define: the plugin "
                "was built against another version of attograd");
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin whose op name is taken is refused whole") {
  check_refused(env_path("BROKEN_NAME_CLASH"), registry, "op 'add' is already registered (by builtin)");

  // Another plugin's op: the same library under a second path.
  const std::string first = env_path("SWIGLU_PLUGIN");
  load_plugin(first, registry);
  const fs::path copy = scratch("swiglu_copy.so");
  fs::copy_file(first, copy, fs::copy_options::overwrite_existing);
  check_refused(copy.string(), registry, "op 'swiglu' is already registered (by " + first + ")");
  fs::remove(copy);
  check_refused(first, registry, "op 'swiglu' is already registered");
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin whose registration throws is refused with the exception's message") {
  check_refused(env_path("BROKEN_THROWING"), registry, "its registration function threw: the registrar exploded");
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin op with a wrong backward is refused with the gradcheck report") {
  const std::string path = env_path("BROKEN_BAD_BACKWARD");
  check_refused(path, registry, "op 'bad_square' fails gradcheck on sample 0 (inputs f64(2, 3)):\nFAIL input 0 element 0");
  // Refusals leave the host able to load good plugins.
  CHECK(load_plugin(env_path("SWIGLU_PLUGIN"), registry).ops.size() == 1);
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin op that accepts one of its declared shape-error cases is refused") {
  check_refused(env_path("BROKEN_ACCEPTED_SHAPE_ERROR"), registry,
                "op 'lenient_square' shape-error case 0 (inputs f64(2, 3)): infer() accepts it");
  CHECK_FALSE(registry.contains("lenient_square"));
}

TEST_CASE_FIXTURE(HostRegistry, "a plugin op whose samples check no gradient is refused") {
  // Its backward is wrong, but its only sample's input is not differentiable:
  // the gradcheck compares nothing and would pass.
  const std::string path = env_path("BROKEN_NOTHING_CHECKED");
  check_refused(path, registry, "op 'unchecked_square': its samples check no gradient");
  CHECK_FALSE(registry.contains("unchecked_square"));
}
