// Timing helpers of the queue and event tests: the shared ones (tests/support/timing.hpp).
#pragma once

#include "redis_probe.hpp"
#include "timing.hpp"
