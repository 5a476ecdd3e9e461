// Header examples that cannot rot: a test compiles a header's example inside
//
//   // example from engine/executor.hpp
//   Executor ex(Backend::tbb, 2);
//   ...
//   // end of example
//
// and check_header_examples("tests/engine/test_header_examples.cpp") checks
// that every such block appears line for line in its header's comments (each
// line without its "//", runs of spaces counted as one). Editing the example
// in the header without the test, or the test without the header, fails.
#pragma once

#include <string>

namespace attograd::testing {

// Checks every block of `test_source` (a path from the source root); returns how many.
int check_header_examples(const std::string& test_source);

}  // namespace attograd::testing
