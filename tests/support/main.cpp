// The doctest main shared by every test binary. TBB may use up to 8 threads
// so that "4 threads" in a test means 4 even on a 2-core machine.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <tbb/global_control.h>

int main(int argc, char** argv) {
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, 8);
  doctest::Context context(argc, argv);
  return context.run();
}
