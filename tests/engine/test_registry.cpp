#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "engine/error.hpp"
#include "engine/registry.hpp"

using namespace attograd;

namespace {

OpSchema schema(const std::string& name, const std::string& origin) {
  OpSchema s;
  s.name = name;
  s.summary = "test op";
  s.factory = [](const Attributes&) -> OpPtr { return nullptr; };
  s.origin = origin;
  return s;
}

}  // namespace

TEST_CASE("the registry adds a batch of ops all or nothing") {
  OpRegistry r;
  r.add(schema("taken", "builtin"));
  std::vector<OpSchema> clash = {schema("fresh", "lib.so"), schema("taken", "lib.so")};
  CHECK_THROWS_WITH_AS(r.add_all(clash), "[registry] op 'taken' is already registered (by builtin); refusing the one from lib.so",
                       Error);
  std::vector<OpSchema> twice = {schema("fresh", "lib.so"), schema("fresh", "lib.so")};
  CHECK_THROWS_WITH_AS(r.add_all(twice), "[registry] op 'fresh' is added twice by lib.so", Error);
  CHECK(r.names() == std::vector<std::string>{"taken"});

  r.add_all({schema("fresh", "lib.so"), schema("other", "lib.so")});
  CHECK(r.names() == std::vector<std::string>{"fresh", "other", "taken"});
  CHECK(r.schema("other").origin == "lib.so");
}
