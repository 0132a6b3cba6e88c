// SPDX-License-Identifier: Apache-2.0
#pragma once

// The ring moved to the producer's parts (src/core/producer/); this path is kept for
// tests/unit/handoff_ring_test.cpp.

#include "../core/producer/handoff_ring.hpp"
