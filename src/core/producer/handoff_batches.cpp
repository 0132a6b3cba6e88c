// SPDX-License-Identifier: Apache-2.0
#include "handoff_batches.hpp"

#include <sys/types.h>

#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "client_recovery.hpp"
#include "delivery_reports.hpp"
#include "report_fields.hpp"
#include "single_record.hpp"

namespace kafka_log::detail {

rd_kafka_resp_err_t HandoffBatches::produce_one(rd_kafka_t* client, rd_kafka_topic_t* topic,
                                                const Ring::Slot& slot) noexcept {
    const SingleRecord record{.payload = slot.payload,
                              .key = slot.key,
                              .timestamp_ms = slot.timestamp_ms(),
                              .token = slot.tag.token,
                              .header_count = slot.header_count};
    return produce_single_record(client, topic, record, [&slot](rd_kafka_headers_t* headers) {
        slot.for_each_header([headers](std::string_view name, std::string_view value) {
            add_header(headers, name, value);
        });
    });
}

std::size_t HandoffBatches::collect(Ring& ring, Batch& batch, rd_kafka_topic_t*& topic,
                                    std::size_t& skipped) noexcept {
    std::size_t n = 0;
    for (Ring::Slot* slot = ring.peek(0); slot != nullptr && n < batch_max; slot = ring.peek(n)) {
        if (slot->skip) {
            if (n > 0) break;  // taken out on the next round, on its own
            ring.pop();
            ++skipped;
            continue;
        }
        // A record with headers or a timestamp goes on its own (rd_kafka_produce_batch takes
        // neither): it ends the batch before it.
        if (slot->has_metadata()) break;
        if (n > 0 && slot->tag.topic != topic) break;
        topic = slot->tag.topic;
        rd_kafka_message_t& m = batch[n++];
        m = rd_kafka_message_t{};
        m._private = ReportFields::pack(0, slot->tag.token);  // never allocates: a token alone
        m.payload = slot->payload.data();
        m.len = slot->payload.size();
        m.key = slot->key.empty() ? nullptr : slot->key.data();
        m.key_len = slot->key.size();
    }
    return n;
}

HandoffBatches::Outcome HandoffBatches::send_batch(Ring& ring, bool purge, bool wait) noexcept {
    if (wait) {
        ring.lock_consumer();
    } else if (!ring.try_lock_consumer()) {
        return Outcome{0, true};  // a logging thread is making room in it (help_send)
    }
    Ring::ConsumerLock consumer(ring, std::adopt_lock);
    Batch batch;  // each entry is set before use: no 16 KiB clear per call
    std::size_t skipped = 0;
    rd_kafka_topic_t* topic = nullptr;
    std::size_t n = collect(ring, batch, topic, skipped);
    if (n == 0) {
        Ring::Slot* const alone = ring.peek(0);
        if (alone == nullptr) return Outcome{skipped, false};
        // A record with metadata, alone; refused, it is settled as a batch of one.
        rd_kafka_message_t& m = batch[0];
        m = rd_kafka_message_t{};
        m.err = purge || purging() ? RD_KAFKA_RESP_ERR__PURGE_QUEUE
                                   : produce_one(clients_.get(), alone->tag.topic, *alone);
        if (m.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ring.pop();
            return Outcome{skipped + 1, false};
        }
        settle_refused(ring, batch, 1);
        return Outcome{skipped + 1, false};
    }

    if (purge || purging()) {
        for (std::size_t i = 0; i < n; ++i) batch[i].err = RD_KAFKA_RESP_ERR__PURGE_QUEUE;
    } else if (rd_kafka_produce_batch(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                      batch.data(), static_cast<int>(n)) == static_cast<int>(n)) {
        for (std::size_t i = 0; i < n; ++i) ring.pop();
        return Outcome{skipped + n, false};
    }
    settle_refused(ring, batch, n);
    return Outcome{skipped + n, false};
}

void HandoffBatches::settle_refused(Ring& ring, const Batch& batch, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        Ring::Slot* slot = ring.peek(0);
        rd_kafka_resp_err_t err = batch[i].err;
        bool rerouted = false;
        for (;;) {
            // A failed client refused it: at once, or on a retry after a full queue when the
            // client failed meanwhile. The current client gets it, once.
            if (err == RD_KAFKA_RESP_ERR__FATAL && !rerouted) {
                rerouted = true;
                err = send_to_current(*slot);
            }
            // librdkafka's queue is full only when its count and ours disagree for a moment
            // (ours is released after the report is served): serve reports and try again. The
            // slot's topic is the current client's: only the current client answers a full
            // queue (a retired one has a fatal error), and only this thread changes it.
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
            rd_kafka_t* const client = clients_.get();
            rd_kafka_poll(client, 1);
            if (purging() || stopping_.load(std::memory_order_acquire)) {
                err = RD_KAFKA_RESP_ERR__PURGE_QUEUE;
                break;
            }
            err = produce_one(client, slot->tag.topic, *slot);
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            MessageView view{rd_kafka_topic_name(slot->tag.topic), slot->key, slot->payload};
            view.token = slot->tag.token;
            view.timestamp_ms = slot->timestamp_ms();
            std::vector<RecordHeader> headers;
            try {
                headers.reserve(slot->header_count);
                slot->for_each_header([&headers](std::string_view name, std::string_view value) {
                    headers.push_back(RecordHeader{name, value});
                });
            } catch (...) {
                headers.clear();  // no memory: reported without its headers rather than not at all
            }
            view.headers = headers;
            try {
                reports_.deliver(view, DeliveryError{err, rd_kafka_err2str(err), false});
            } catch (...) {
                reports_.count_unreported(view.payload.size());
            }
        }
        ring.pop();
    }
}

rd_kafka_resp_err_t HandoffBatches::send_to_current(Ring::Slot& slot) noexcept {
    const auto fatal = [&] {
        const int code = clients_.last_fatal_error();
        return code != 0 ? static_cast<rd_kafka_resp_err_t>(code) : RD_KAFKA_RESP_ERR__FATAL;
    };
    if (rd_kafka_fatal_error(clients_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        clients_.recover(clients_.get());  // before the error callback is served: now
        const rd_kafka_resp_err_t still = rd_kafka_fatal_error(clients_.get(), nullptr, 0);
        if (still != RD_KAFKA_RESP_ERR_NO_ERROR) return still;  // the back-off: the fallback
    }
    ClientSession& session = clients_.current();
    rd_kafka_t* const client = session.client();
    rd_kafka_topic_t* topic = nullptr;
    try {
        topic = session.topics().handle(rd_kafka_topic_name(slot.tag.topic));
    } catch (...) {
        return fatal();
    }
    if (topic == nullptr || topic == slot.tag.topic) return fatal();
    slot.tag.topic = topic;  // a retry after a full queue goes to the current client too
    return produce_one(client, topic, slot);
}

bool HandoffBatches::help_send(Ring& ring) noexcept {
    // It waits a little for the consumer to finish a batch of this ring, never for anything
    // else; errors, retries and reports stay the consumer's.
    if (purging()) return false;
    bool locked = ring.try_lock_consumer();
    for (int i = 0; i < 64 && !locked; ++i) {
        std::this_thread::yield();
        locked = ring.try_lock_consumer();
    }
    if (!locked) return false;
    Ring::ConsumerLock consumer(ring, std::adopt_lock);
    Batch batch;
    std::size_t skipped = 0;
    rd_kafka_topic_t* topic = nullptr;
    const std::size_t n = collect(ring, batch, topic, skipped);
    if (n == 0) {
        // A record with metadata, alone. Refused, it stays at the front for the consumer.
        Ring::Slot* const alone = ring.peek(0);
        if (alone == nullptr ||
            produce_one(clients_.get(), alone->tag.topic, *alone) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return skipped > 0;
        }
        ring.pop();
        return true;
    }
    const int good = rd_kafka_produce_batch(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                            batch.data(), static_cast<int>(n));
    if (good == static_cast<int>(n)) {
        for (std::size_t i = 0; i < n; ++i) ring.pop();
        return true;
    }
    // librdkafka refused some: they stay at the front for the consumer to settle; the ones it
    // took behind them are marked to be popped without producing them again.
    std::size_t popped = 0;
    while (popped < n && batch[popped].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ring.pop();
        ++popped;
    }
    for (std::size_t i = popped; i < n; ++i) {
        if (batch[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) ring.peek(i - popped)->skip = true;
    }
    return popped > 0;
}

}  // namespace kafka_log::detail
