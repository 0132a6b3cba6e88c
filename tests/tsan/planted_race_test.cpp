// SPDX-License-Identifier: Apache-2.0
// The suppressions of tests/support/tsan.supp leave out what librdkafka does inside itself, and
// nothing of ours: a race planted in a delivery handler (kafka_log_tsan_planted_race, see its
// comment) is still reported, with librdkafka's frames in its stack.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace kafka_log::test {
namespace {

struct Outcome {
    int exit_code = -1;
    std::string err;
};

/// Runs the planted race under the TSan set's suppressions, stopping at the first report.
Outcome run_planted_race(const std::filesystem::path& err_file) {
    const char* inherited = std::getenv("TSAN_OPTIONS");
    const std::string options = std::string(inherited == nullptr ? "" : inherited) +
                                ":suppressions=" KAFKA_LOG_TSAN_SUPPRESSIONS
                                ":halt_on_error=1:exitcode=66";
    const std::string command = "TSAN_OPTIONS='" + options +
                                "' '" KAFKA_LOG_TSAN_PLANTED_RACE "' >/dev/null 2>'" +
                                err_file.string() + "'";
    Outcome outcome;
    const int status = std::system(command.c_str());
    if (status != -1 && WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    std::ifstream in(err_file, std::ios::binary);
    outcome.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return outcome;
}

/// stderr as shown on failure: the report renamed, so that ci/tsan.sh's search of the test log
/// finds only reports of the tests themselves.
std::string shown(std::string err) {
    for (std::size_t at; (at = err.find("ThreadSanitizer")) != std::string::npos;)
        err.replace(at, 15, "TSan");
    return err;
}

TEST(TsanPlantedRaceTest, ARaceInADeliveryHandlerUnderLibrdkafkasFramesIsReported) {
    const TempDir tmp;
    const Outcome o = run_planted_race(tmp / "stderr");
    EXPECT_EQ(o.exit_code, 66) << "66: TSan reported; 0: the race was missed; 2: set-up failed\n"
                               << shown(o.err);
    EXPECT_NE(o.err.find("ThreadSanitizer: data race"), std::string::npos)
        << "no data race reported (" << o.err.size() << " bytes of stderr)";
    EXPECT_NE(o.err.find("planted_race_write"), std::string::npos) << "the handler's write";
    EXPECT_NE(o.err.find("planted_race_read"), std::string::npos) << "main's read";
    EXPECT_NE(o.err.find("librdkafka.so.1"), std::string::npos)
        << "the handler ran under librdkafka's frames";
}

}  // namespace
}  // namespace kafka_log::test
