#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "engine/error.hpp"
#include "train/lr_schedule.hpp"

using namespace attograd;

TEST_CASE("the noam schedule is the Annotated Transformer's rate()") {
  const LrSchedule s = NoamSchedule{.factor = 1, .d_model = 512, .warmup = 4000};
  // Step 1: 512^-0.5 * min(1, 1 * 4000^-1.5) = 0.04419417 * 3.9528471e-6.
  CHECK(learning_rate(s, 1) == doctest::Approx(1.7469281074217108e-07).epsilon(1e-12));
  CHECK(learning_rate(s, 0) == learning_rate(s, 1));  // rate() turns step 0 into 1
  // Linear during warmup: step 2000 is half the peak.
  CHECK(learning_rate(s, 2000) == doctest::Approx(2000 * 1.7469281074217108e-07).epsilon(1e-12));
  // Peak at warmup: 512^-0.5 * 4000^-0.5 = 1 / sqrt(2048000).
  CHECK(learning_rate(s, 4000) == doctest::Approx(6.987712429686844e-04).epsilon(1e-12));
  // Then 1/sqrt(step): four times the steps, half the rate.
  CHECK(learning_rate(s, 16000) == doctest::Approx(3.493856214843422e-04).epsilon(1e-12));
  CHECK(learning_rate(NoamSchedule{.factor = 2, .d_model = 512, .warmup = 4000}, 16000) ==
        doctest::Approx(6.987712429686844e-04).epsilon(1e-12));
}

TEST_CASE("the constant schedule returns its rate at every step") {
  const LrSchedule s = ConstantSchedule{0.25};
  for (std::int64_t step : {0, 1, 1000000}) CHECK(learning_rate(s, step) == 0.25);
}

TEST_CASE("the cosine schedule warms up linearly then follows a half cosine down to its floor") {
  const LrSchedule s = CosineSchedule{.lr = 1, .min_lr = 0.1, .warmup = 10, .total = 110};
  CHECK(learning_rate(s, 1) == doctest::Approx(0.1));
  CHECK(learning_rate(s, 5) == doctest::Approx(0.5));
  CHECK(learning_rate(s, 10) == doctest::Approx(1.0));
  // A quarter of the way: 0.1 + 0.9 * (1 + cos(pi / 4)) / 2.
  CHECK(learning_rate(s, 35) == doctest::Approx(0.868198051533946));
  CHECK(learning_rate(s, 60) == doctest::Approx(0.55));  // halfway: the mean of peak and floor
  CHECK(learning_rate(s, 110) == doctest::Approx(0.1));
  CHECK(learning_rate(s, 5000) == 0.1);
  // Without warmup it starts at the peak.
  CHECK(learning_rate(CosineSchedule{.lr = 1, .min_lr = 0, .warmup = 0, .total = 100}, 1) ==
        doctest::Approx((1 + std::cos(std::numbers::pi / 100)) / 2));
}

TEST_CASE("the inverse-sqrt schedule warms up linearly then decays as sqrt(warmup / step)") {
  const LrSchedule s = InverseSqrtSchedule{.lr = 1, .warmup = 100};
  CHECK(learning_rate(s, 50) == doctest::Approx(0.5));
  CHECK(learning_rate(s, 100) == doctest::Approx(1.0));
  CHECK(learning_rate(s, 400) == doctest::Approx(0.5));
  CHECK(learning_rate(s, 10000) == doctest::Approx(0.1));
}

TEST_CASE("make_schedule builds every schedule by name and schedule_parameters reverses it") {
  const LrSchedule noam = make_schedule("noam", {{"d_model", 256}, {"warmup", 400}});
  CHECK(std::get<NoamSchedule>(noam).factor == 1);  // default
  CHECK(learning_rate(noam, 400) == doctest::Approx(1 / std::sqrt(256.0 * 400)));
  for (const LrSchedule& s : {make_schedule("constant", {{"lr", 0.5}}), noam,
                            make_schedule("cosine", {{"lr", 0.1}, {"warmup", 5}, {"total", 50}}),
                            make_schedule("inverse-sqrt", {{"lr", 0.1}, {"warmup", 8}})}) {
    const LrSchedule again = make_schedule(schedule_name(s), schedule_parameters(s));
    CHECK(again.index() == s.index());
    for (std::int64_t step : {1, 7, 30, 100}) CHECK(learning_rate(again, step) == learning_rate(s, step));
  }
}

TEST_CASE("make_schedule refuses unknown names and parameters with a clear message") {
  CHECK_THROWS_WITH_AS(make_schedule("linear"),
                       "[schedule] unknown schedule 'linear' (known: constant, noam, cosine, inverse-sqrt)", Error);
  CHECK_THROWS_WITH_AS(make_schedule("noam", {{"warmpu", 10}}), doctest::Contains("unknown parameter 'warmpu'"), Error);
  CHECK_THROWS_WITH_AS(make_schedule("cosine", {{"lr", 1}}), doctest::Contains("missing parameter 'total'"), Error);
  CHECK_THROWS_WITH_AS(make_schedule("noam", {{"warmup", 0}}), doctest::Contains("warmup must be >= 1"), Error);
  CHECK_THROWS_WITH_AS(make_schedule("cosine", {{"total", 10}, {"warmup", 2.5}}),
                       doctest::Contains("warmup must be a non-negative integer"), Error);
  CHECK_THROWS_WITH_AS(make_schedule("cosine", {{"total", 10}, {"warmup", 20}}), doctest::Contains("total must be"),
                       Error);
}
