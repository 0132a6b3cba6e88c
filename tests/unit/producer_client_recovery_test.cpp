// SPDX-License-Identifier: Apache-2.0
// ClientRecovery and RecreationBackoff: a fatal error of the current client makes a new one
// (with the same configuration) that records go to; the old client's records are reported
// failed with the fatal error's code; recreations wait a doubling back-off and stop at a bound.
#include "../../src/core/producer/client_recovery.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "../support/offline_client.hpp"

namespace kafka_log::detail {
namespace {

using namespace std::chrono_literals;
using Clock = RecreationBackoff::Clock;

TEST(RecreationBackoffTest, TheFirstTryIsAtOnceThenTheWaitDoubles) {
    RecreationBackoff backoff;
    const Clock::time_point start{};
    EXPECT_TRUE(backoff.may_try(start));
    backoff.tried(start, true);
    EXPECT_EQ(backoff.wait(), RecreationBackoff::first);
    EXPECT_FALSE(backoff.may_try(start + 999ms));
    EXPECT_TRUE(backoff.may_try(start + 1000ms));
    backoff.tried(start + 1000ms, false);
    EXPECT_EQ(backoff.wait(), 2 * RecreationBackoff::first) << "a failed try doubles it too";
    EXPECT_FALSE(backoff.may_try(start + 2999ms));
    EXPECT_TRUE(backoff.may_try(start + 3000ms));
    EXPECT_EQ(backoff.made(), 1u) << "only the try that made a client counts";
}

TEST(RecreationBackoffTest, TheWaitIsBoundedAndAQuietSpellStartsItAgain) {
    RecreationBackoff backoff;
    Clock::time_point now{};
    for (int i = 0; i < 10; ++i) {
        backoff.tried(now, false);
        now += backoff.wait();
    }
    EXPECT_EQ(backoff.wait(), RecreationBackoff::longest);
    now += RecreationBackoff::longest;
    backoff.tried(now, true);
    EXPECT_EQ(backoff.wait(), RecreationBackoff::first);
}

TEST(RecreationBackoffTest, NoTryAfterTheMostRecreations) {
    RecreationBackoff backoff;
    Clock::time_point now{};
    for (std::uint64_t i = 0; i < RecreationBackoff::most; ++i) {
        ASSERT_TRUE(backoff.may_try(now));
        backoff.tried(now, true);
        now += RecreationBackoff::longest;
    }
    EXPECT_TRUE(backoff.exhausted());
    EXPECT_FALSE(backoff.may_try(now + 24h));
}

/// An offline client whose records are kept by the test's handler.
struct Recovering : OfflineClient {
    Recovering() {
        reports.set_delivery_handler([this](const DeliveryReport& report) {
            payloads.emplace_back(report.message.payload);
            errors.push_back(report.error);
        });
    }
    ~Recovering() {
        client.for_each_client([](rd_kafka_t* rk) {
            rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 10);
        });
    }
    rd_kafka_resp_err_t produce(rd_kafka_t* rk, const char* payload) {
        return rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC("recovery"), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(const_cast<char*>(payload), std::strlen(payload)), RD_KAFKA_V_END);
    }
    /// Serves the retired clients until `count` reports arrived or 10 s passed.
    bool served(std::size_t count) {
        const auto deadline = Clock::now() + 10s;
        while (payloads.size() < count && Clock::now() < deadline) {
            if (!client.serve_retired()) rd_kafka_poll(client.get(), 10);
        }
        return payloads.size() >= count;
    }

    std::vector<std::string> payloads;
    std::vector<std::optional<DeliveryError>> errors;
};

TEST(ClientRecoveryTest, AFatalErrorMakesANewClientAndFailsTheOldOnesRecordsWithIt) {
    Recovering parts;
    rd_kafka_t* const old = parts.client.get();
    ASSERT_EQ(parts.produce(old, "held"), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(parts.client.recreations(), 0u);
    EXPECT_EQ(parts.bridge.take_fatal(), nullptr);

    ASSERT_EQ(rd_kafka_test_fatal_error(old, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                        "a fatal error for the test"),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    // The error callback runs on the next poll: the bridge names the client.
    rd_kafka_t* failed = nullptr;
    const auto deadline = Clock::now() + 10s;
    while (failed == nullptr && Clock::now() < deadline) {
        rd_kafka_poll(old, 10);
        failed = parts.bridge.take_fatal();
    }
    ASSERT_EQ(failed, old);

    parts.client.recover(failed);
    EXPECT_EQ(parts.client.recreations(), 1u);
    ASSERT_NE(parts.client.get(), old);
    EXPECT_EQ(parts.client.current().client(), parts.client.get());
    EXPECT_EQ(rd_kafka_fatal_error(parts.client.get(), nullptr, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(parts.produce(parts.client.get(), "new"), RD_KAFKA_RESP_ERR_NO_ERROR)
        << "the new client takes records";

    ASSERT_TRUE(parts.served(1)) << "the old client's record is reported";
    ASSERT_EQ(parts.payloads.size(), 1u);
    EXPECT_EQ(parts.payloads[0], "held");
    ASSERT_TRUE(parts.errors[0]);
    EXPECT_EQ(parts.errors[0]->code, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    EXPECT_NE(parts.errors[0]->reason.find("a fatal error for the test"), std::string::npos)
        << parts.errors[0]->reason;
    EXPECT_FALSE(parts.errors[0]->possibly_persisted) << "it never left the queue";

    int clients = 0;
    parts.client.for_each_client([&](rd_kafka_t*) { ++clients; });
    EXPECT_EQ(clients, 2) << "the old client is kept: a logging thread may still hold it";
}

TEST(ClientRecoveryTest, AFatalErrorSoonAfterARecreationWaitsForTheBackoff) {
    Recovering parts;
    for (int round = 0; round < 2; ++round) {
        rd_kafka_t* const current = parts.client.get();
        ASSERT_EQ(
            rd_kafka_test_fatal_error(current, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, "again"),
            RD_KAFKA_RESP_ERR_NO_ERROR);
        parts.client.recover(current);
    }
    EXPECT_EQ(parts.client.recreations(), 1u) << "the second waits its back-off (1 s)";
    rd_kafka_t* const failed = parts.client.get();
    EXPECT_NE(rd_kafka_fatal_error(failed, nullptr, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    parts.client.recover(nullptr);  // a later turn, still within the back-off
    EXPECT_EQ(parts.client.get(), failed);
    const auto deadline = Clock::now() + 10s;
    while (parts.client.recreations() < 2 && Clock::now() < deadline) {
        parts.client.recover(nullptr);  // the poll thread's turns: it remembers the failed client
        rd_kafka_poll(failed, 10);
    }
    EXPECT_EQ(parts.client.recreations(), 2u) << "once the back-off passed";
}

TEST(ClientRecoveryTest, AStaleFatalErrorOrOneAfterStopMakesNoClient) {
    Recovering parts;
    rd_kafka_t* const first = parts.client.get();
    parts.client.recover(nullptr);
    EXPECT_EQ(parts.client.recreations(), 0u) << "no fatal error: nothing to do";
    parts.client.stop();
    ASSERT_EQ(rd_kafka_test_fatal_error(first, RD_KAFKA_RESP_ERR__FENCED, "fenced"),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    parts.client.recover(first);
    EXPECT_EQ(parts.client.recreations(), 0u) << "a closing producer makes no client";
    EXPECT_EQ(parts.client.get(), first);
}

}  // namespace
}  // namespace kafka_log::detail
