// A resumed run's optimizer state is checked (issue 18, item 6): a missing
// slot, no state at all, NaN or negative second moments and unknown slots
// are refused by name, never zero-filled or carried along.
#include <doctest/doctest.h>

#include <limits>

#include "engine/error.hpp"
#include "train/optimizer.hpp"
#include "train/optimizer_state.hpp"

using namespace attograd;

namespace {

// Two parameters after one Adam step: both slots of both exist.
struct AdamRun {
  ParameterStore store{1};
  std::unique_ptr<Optimizer> adam = make_optimizer("adam", {});
  AdamRun() {
    for (const char* name : {"a.weight", "b.weight"}) {
      Parameter& p = store.get_or_create(name, DType::f32, {2, 2}, Init::ones());
      p.grad = Tensor::full(DType::f32, {2, 2}, 0.5);
    }
    adam->step(store, 0.1);
  }
  std::string problem() const {
    try {
      check_optimizer_state(store, *adam, 1, "run.safetensors");
    } catch (const FileError& e) {
      return e.what();
    }
    return "";
  }
};

}  // namespace

TEST_CASE("an intact Adam state passes, and so does a fresh run's empty one") {
  AdamRun run;
  CHECK(run.problem() == "");
  ParameterStore fresh(1);
  fresh.get_or_create("w", DType::f32, {2}, Init::ones());
  CHECK_NOTHROW(check_optimizer_state(fresh, *run.adam, 0, "x"));
}

TEST_CASE("damaged optimizer state is refused by name") {
  SUBCASE("a missing exp_avg_sq") {
    AdamRun run;
    run.store.at("b.weight").state.erase("exp_avg_sq");
    CHECK(run.problem() == "[checkpoint] 'run.safetensors': 'optimizer.b.weight.exp_avg_sq' is missing (the run is at step 1)");
  }
  SUBCASE("no optimizer state at all") {
    AdamRun run;
    for (Parameter& p : run.store.all()) p.state.clear();
    CHECK(run.problem().find("it is at step 1 but holds no optimizer state (adam keeps exp_avg, exp_avg_sq per "
                             "parameter): resuming would restart adam from zero") != std::string::npos);
  }
  SUBCASE("a NaN second moment") {
    AdamRun run;
    run.store.at("a.weight").state.at("exp_avg_sq").data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
    CHECK(run.problem().find("tensor 'optimizer.a.weight.exp_avg_sq' holds 1 of 4 values that are NaN or Inf") !=
          std::string::npos);
  }
  SUBCASE("a negative second moment") {
    AdamRun run;
    run.store.at("a.weight").state.at("exp_avg_sq").data<float>()[2] = -1e-3f;
    CHECK(run.problem().find("'optimizer.a.weight.exp_avg_sq' holds 1 negative values") != std::string::npos);
  }
  SUBCASE("an unknown slot") {
    AdamRun run;
    run.store.at("a.weight").state["momentum_buffer"] = Tensor::zeros(DType::f32, {2, 2});
    CHECK(run.problem().find("'optimizer.a.weight.momentum_buffer' is not a slot adam keeps (exp_avg, exp_avg_sq)") !=
          std::string::npos);
  }
}
