// A program without the ops library (this binary links the engine only):
// asking for a built-in op by name says why it is missing and what to do.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "engine/registry.hpp"

using namespace attograd;

TEST_CASE("without the ops library, apply(\"softmax\") names the library and ensure_builtin_ops()") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(apply("softmax", {x}),
                       "[registry] no op named 'softmax' (no built-in op is registered: the program does not load "
                       "libattograd_ops; link it, or call ensure_builtin_ops() from ops/builtin.hpp)",
                       Error);
  CHECK(default_registry().names().empty());
}
