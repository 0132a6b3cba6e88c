// SPDX-License-Identifier: Apache-2.0
#pragma once

// HandoffRing: a bounded multi-producer, single-consumer ring of records, for RdKafkaProducer
// to take a record from a logging thread and hand it to librdkafka on its own thread.
//
// - A producer reserves a slot with one compare-and-swap on the tail, copies the record into
//   the slot's strings (their capacity is kept between uses, so a warm ring does not
//   allocate), and publishes it with a release store of the slot's sequence number. Headers
//   are packed into one string of their own, which a record without headers never touches.
// - The single consumer reads slots in order and returns each with a release store.
// - try_push() fails at once when the ring is full: the caller decides what to do instead.
// - One thread at a time consumes: it holds the consumer's role (lock_consumer()), which the
//   owner of the ring takes for each batch and a producer may take when it finds it full.
// Each slot's sequence number tells whose turn it is (the classic bounded-queue scheme):
// `pos` free for the producer of position pos, `pos + 1` published for the consumer.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>  // std::adopt_lock_t
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "kafka_log/async_producer.hpp"

namespace kafka_log::detail {

template <typename Tag>
class HandoffRing {
public:
    struct alignas(64) Slot {
        std::atomic<std::uint64_t> sequence{0};
        Tag tag{};
        bool skip = false;     // the copy could not allocate: no record, the consumer just pops it
        bool stamped = false;  // its own timestamp leads `metadata`
        std::uint32_t header_count = 0;  // headers packed in `metadata`
        std::string payload;
        std::string key;
        // The record's own timestamp (8 bytes) when `stamped`; then per header its name's and
        // its value's sizes (4 bytes each), the name and the value. A plain record never reads
        // or writes it, and the slot stays two cache lines.
        std::string metadata;

        /// True when the record carries headers or a timestamp of its own.
        bool has_metadata() const noexcept { return stamped || header_count != 0; }

        /// The record's own timestamp, ms since the epoch; 0: none.
        std::int64_t timestamp_ms() const noexcept {
            std::int64_t ms = 0;
            if (stamped) std::memcpy(&ms, metadata.data(), sizeof ms);
            return ms;
        }

        /// Calls `visit(name, value)` for each header, in order.
        template <typename Visit>
        void for_each_header(Visit&& visit) const {
            const char* at = metadata.data() + (stamped ? sizeof(std::int64_t) : 0);
            for (std::uint32_t i = 0; i < header_count; ++i) {
                std::uint32_t sizes[2];
                std::memcpy(sizes, at, sizeof sizes);
                at += sizeof sizes;
                const std::string_view name(at, sizes[0]);
                const std::string_view value(at + sizes[0], sizes[1]);
                at += std::size_t{sizes[0]} + sizes[1];
                visit(name, value);
            }
        }
    };

    /// `capacity` is rounded up to a power of two (at least 2).
    explicit HandoffRing(std::size_t capacity)
        : capacity_(round_up(capacity)),
          mask_(capacity_ - 1),
          slots_(std::make_unique<Slot[]>(capacity_)) {
        for (std::size_t i = 0; i < capacity_; ++i) {
            slots_[i].sequence.store(i, std::memory_order_relaxed);
        }
    }

    HandoffRing(const HandoffRing&) = delete;
    HandoffRing& operator=(const HandoffRing&) = delete;

    /// Copies the record into the ring; false when it did not take it (the ring is full, or
    /// copying could not allocate: that slot is published as `skip`). Any thread; never throws.
    /// A header's name or value must be under 4 GiB (a record that size is refused long before).
    bool try_push(const Tag& tag, std::string_view payload, std::string_view key,
                  std::span<const RecordHeader> headers = {}, std::int64_t timestamp_ms = 0) {
        std::uint64_t pos = tail_.load(std::memory_order_relaxed);
        Slot* slot = nullptr;
        for (;;) {
            slot = &slots_[pos & mask_];
            const std::uint64_t seq = slot->sequence.load(std::memory_order_acquire);
            const auto diff = static_cast<std::int64_t>(seq - pos);
            if (diff == 0) {
                if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                                std::memory_order_relaxed)) {
                    break;
                }
            } else if (diff < 0) {
                return false;  // the consumer has not freed this slot yet: full
            } else {
                pos = tail_.load(std::memory_order_relaxed);
            }
        }
        bool copied = true;
        try {
            slot->payload.assign(payload.data(), payload.size());
            slot->key.assign(key.data(), key.size());
            if (!headers.empty() || timestamp_ms != 0)
                pack_metadata(slot->metadata, timestamp_ms, headers);
        } catch (...) {
            copied = false;  // the slot is ours and must be published all the same
        }
        slot->tag = tag;
        slot->stamped = timestamp_ms != 0;
        slot->header_count = static_cast<std::uint32_t>(headers.size());
        slot->skip = !copied;
        slot->sequence.store(pos + 1, std::memory_order_release);
        return copied;
    }

    /// The oldest published record, or null. Consumer only; pop() releases it.
    Slot* front() noexcept { return peek(0); }

    /// The record `offset` places after the oldest, or null while it is not published.
    /// Walk offsets in order from 0 and stop at the first null. Consumer only.
    Slot* peek(std::size_t offset) noexcept {
        if (offset >= capacity_) return nullptr;
        const std::uint64_t pos = head_.load(std::memory_order_relaxed) + offset;
        Slot* slot = &slots_[pos & mask_];
        return slot->sequence.load(std::memory_order_acquire) == pos + 1 ? slot : nullptr;
    }

    /// Releases the slot front() returned. Consumer only. A slot whose strings grew
    /// past `keep_bytes` gives their memory back, so one huge record does not stay resident.
    void pop(std::size_t keep_bytes = 4096) noexcept {
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        Slot& slot = slots_[head & mask_];
        if (slot.payload.capacity() > keep_bytes) std::string().swap(slot.payload);
        if (slot.key.capacity() > keep_bytes) std::string().swap(slot.key);
        if (slot.metadata.capacity() > keep_bytes) std::string().swap(slot.metadata);
        slot.sequence.store(head + capacity_, std::memory_order_release);
        head_.store(head + 1, std::memory_order_release);
    }

    /// True when no slot is reserved beyond what the consumer took (seq_cst: pairs with the
    /// producers' reservation, so a consumer that announces sleep and then sees an empty
    /// ring cannot miss a producer that comes after). Any thread.
    bool empty() const noexcept {
        return tail_.load(std::memory_order_seq_cst) == head_.load(std::memory_order_seq_cst);
    }

    std::size_t capacity() const noexcept { return capacity_; }

    /// The consumer's role (front, peek, pop), held by one thread at a time: the producer
    /// thread's, or a producing thread's that found the ring full and empties some of it.
    bool try_lock_consumer() noexcept {
        return !consumer_busy_.load(std::memory_order_relaxed) &&
               !consumer_busy_.exchange(true, std::memory_order_acquire);
    }
    void lock_consumer() noexcept {
        while (!try_lock_consumer()) std::this_thread::yield();
    }
    void unlock_consumer() noexcept { consumer_busy_.store(false, std::memory_order_release); }

    /// Holds the consumer's role for a scope (lock_consumer() or an already won try).
    class ConsumerLock {
    public:
        explicit ConsumerLock(HandoffRing& ring) noexcept : ring_(ring) { ring_.lock_consumer(); }
        ConsumerLock(HandoffRing& ring, std::adopt_lock_t) noexcept : ring_(ring) {}
        ~ConsumerLock() { ring_.unlock_consumer(); }
        ConsumerLock(const ConsumerLock&) = delete;
        ConsumerLock& operator=(const ConsumerLock&) = delete;

    private:
        HandoffRing& ring_;
    };

private:
    static void pack_metadata(std::string& out, std::int64_t timestamp_ms,
                              std::span<const RecordHeader> headers) {
        std::size_t size = timestamp_ms != 0 ? sizeof timestamp_ms : 0;
        for (const RecordHeader& h : headers)
            size += 2 * sizeof(std::uint32_t) + h.name.size() + h.value.size();
        out.resize(size);
        char* at = out.data();
        if (timestamp_ms != 0) {
            std::memcpy(at, &timestamp_ms, sizeof timestamp_ms);
            at += sizeof timestamp_ms;
        }
        for (const RecordHeader& h : headers) {
            const std::uint32_t sizes[2] = {static_cast<std::uint32_t>(h.name.size()),
                                            static_cast<std::uint32_t>(h.value.size())};
            std::memcpy(at, sizes, sizeof sizes);
            at += sizeof sizes;
            if (!h.name.empty()) std::memcpy(at, h.name.data(), h.name.size());
            at += h.name.size();
            if (!h.value.empty()) std::memcpy(at, h.value.data(), h.value.size());
            at += h.value.size();
        }
    }

    static std::size_t round_up(std::size_t n) noexcept {
        std::size_t c = 2;
        while (c < n) c <<= 1;
        return c;
    }

    static_assert(sizeof(Slot) <= 128 || sizeof(Tag) > 16, "a slot stays two cache lines");

    const std::size_t capacity_;
    const std::size_t mask_;
    std::unique_ptr<Slot[]> slots_;
    alignas(64) std::atomic<std::uint64_t> tail_{0};
    // Written by whoever holds the consumer's role; empty() may read it without the role.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::atomic<bool> consumer_busy_{false};
};

}  // namespace kafka_log::detail
