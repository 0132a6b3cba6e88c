// SPDX-License-Identifier: Apache-2.0
// SpoolFallback and SpoolReader: "a counter is a claim". Every record a writer counts in a
// fallback_* bucket is read back whole from the spool, and no record counted lost is in it.
#include "kafka_log/spool_fallback.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kafka_log/kafka_writer.hpp"
#include "kafka_log/mocks/mock_async_producer.hpp"
#include "kafka_log/spool_reader.hpp"
#include "test_support.hpp"

namespace kafka_log {
namespace {

namespace fs = std::filesystem;
using mocks::MockAsyncProducer;
using test::Balanced;
using test::TempDir;
using ::testing::HasSubstr;

using namespace std::chrono_literals;

// --- helpers ---------------------------------------------------------------------------------

struct ReadBack {
    std::vector<SpoolRecord> records;
    SpoolReadStats stats;
    std::vector<SpoolSegmentInfo> segments;
};

ReadBack read_spool(const fs::path& dir) {
    ReadBack out;
    SpoolReader reader(dir);
    SpoolRecord record;
    while (reader.next(record)) out.records.push_back(record);
    out.stats = reader.stats();
    out.segments = reader.segments();
    return out;
}

/// The segment files of a spool, in name order (which is sequence order for one process).
std::vector<fs::path> segment_files(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with("seg-") && name.ends_with(".kls")) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// CRC-32C written again here, bit by bit, from its definition (not the library's code).
std::uint32_t crc32c(const unsigned char* data, std::size_t size) {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78U & (0U - (crc & 1U)));
    }
    return ~crc;
}

std::uint32_t file_mode(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

std::map<FallbackReason, std::uint64_t> by_reason(const std::vector<SpoolRecord>& records) {
    std::map<FallbackReason, std::uint64_t> out;
    for (const auto& r : records) ++out[r.reason];
    return out;
}

std::uint64_t count_of(const std::map<FallbackReason, std::uint64_t>& m, FallbackReason reason) {
    const auto it = m.find(reason);
    return it == m.end() ? 0 : it->second;
}

/// The read-back per reason equals the writer's buckets, one for one.
void expect_buckets_match(const WriterStats& s, const std::vector<SpoolRecord>& records) {
    const auto n = by_reason(records);
    EXPECT_EQ(count_of(n, FallbackReason::queue_full), s.fallback_queue_full);
    EXPECT_EQ(count_of(n, FallbackReason::too_large), s.fallback_too_large);
    EXPECT_EQ(count_of(n, FallbackReason::delivery_failed), s.fallback_delivery_failed);
    EXPECT_EQ(count_of(n, FallbackReason::closed), s.fallback_closed);
    EXPECT_EQ(count_of(n, FallbackReason::unreachable), s.fallback_unreachable);
    EXPECT_EQ(count_of(n, FallbackReason::reentrant), s.fallback_reentrant);
    EXPECT_EQ(records.size(), s.fallback_total());
}

bool is_hex_id(const std::string& id) {
    return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

/// A writer whose mock refuses every record it gets (queue_full), with a spool fallback.
SpoolOptions without_drain(SpoolOptions options) {
    options.replay_rate = 0;
    return options;
}

struct WriterOnSpool {
    /// These tests check what the spool holds: no drain sends it back (drain_test.cpp does).
    explicit WriterOnSpool(const fs::path& dir, SpoolOptions options = {})
        : producer(std::make_shared<MockAsyncProducer>()),
          spool(std::make_shared<SpoolFallback>(dir, without_drain(options))),
          writer(std::make_unique<KafkaWriter>(producer, spool,
                                               WriterOptions{.topic = "spool-logs"})) {}

    void write_rejected(const std::string& payload, const std::string& key = {}) {
        producer->expect_input_and_reject(ProduceStatus::queue_full);
        writer->write(payload, key);
    }

    std::shared_ptr<MockAsyncProducer> producer;
    std::shared_ptr<SpoolFallback> spool;
    std::unique_ptr<KafkaWriter> writer;
};

// --- round trip --------------------------------------------------------------------------------

TEST(SpoolTest, EveryFieldOfEveryKindOfRecordReadsBackWhole) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    const std::string nul_payload("a\0b\0", 4);
    const std::string invalid_utf8 = "\xff\xfe\xc3(\xed\xa0\x80 end";
    const std::string big(10000, 'B');  // larger than segment_bytes: a segment of its own
    const RecordHeader headers[] = {
        {"h1", "v1"}, {"empty", ""}, {std::string_view("n\0l", 3), "\x01\x02"}};

    struct Sent {
        std::string topic;
        std::optional<std::string> key;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string payload;
        FallbackReason reason;
        bool possibly_persisted;
        int error;
        std::int64_t timestamp_ms;
    };
    std::vector<Sent> sent;
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    {
        SpoolFallback spool(dir, SpoolOptions{.segment_bytes = 4096});
        auto put = [&](std::string topic, std::optional<std::string> key, bool with_headers,
                       std::string payload, FallbackReason reason, bool pp, int error,
                       std::int64_t ts) {
            FallbackRecord r{.topic = topic,
                             .key = key ? std::string_view(*key) : std::string_view(),
                             .headers = with_headers ? std::span<const RecordHeader>(headers)
                                                     : std::span<const RecordHeader>(),
                             .payload = payload,
                             .reason = reason,
                             .possibly_persisted = pp,
                             .error = error,
                             .timestamp_ms = ts};
            ASSERT_TRUE(spool.write(r));
            Sent s{topic, key, {}, payload, reason, pp, error, ts};
            if (with_headers) {
                for (const auto& h : headers)
                    s.headers.emplace_back(std::string(h.name), std::string(h.value));
            }
            sent.push_back(std::move(s));
        };
        int i = 0;
        for (FallbackReason reason : {FallbackReason::queue_full, FallbackReason::too_large,
                                      FallbackReason::delivery_failed, FallbackReason::closed,
                                      FallbackReason::unreachable, FallbackReason::reentrant}) {
            put("topic-" + std::to_string(i), "key-" + std::to_string(i), i % 2 == 0,
                "payload " + std::to_string(i), reason, i % 2 == 1, -192 - i,
                i == 0 ? 0 : 1'700'000'000'000 + i);
            put("topic-" + std::to_string(i), std::nullopt, false, "keyless " + std::to_string(i),
                reason, false, 0, 0);
            ++i;
        }
        put("t", "k", true, "line one\nline two\n", FallbackReason::delivery_failed, false, 0, 0);
        put("t", "k\nnl", false, nul_payload, FallbackReason::queue_full, false, 0, 0);
        put("t", std::string("\0", 1), false, invalid_utf8, FallbackReason::queue_full, false, 0,
            0);
        put("t", "k", false, "", FallbackReason::queue_full, false, 0, 0);
        put("", std::nullopt, false, "no topic", FallbackReason::queue_full, false, 0, 0);
        put("t", "big", false, big, FallbackReason::too_large, true, 10, 0);
        for (int n = 0; n < 300; ++n) {
            put("many", "k" + std::to_string(n % 7), n % 5 == 0,
                "record " + std::to_string(n) + std::string(n % 50, 'x'),
                FallbackReason::unreachable, false, 0, 0);
        }
        EXPECT_EQ(spool.stats().records, sent.size());
        EXPECT_EQ(spool.stats().refused_full + spool.stats().refused_error, 0u);

        // A reader sees every record while the spool is still writing (the current segment
        // is read through its reserved, zero tail).
        const ReadBack live = read_spool(dir);
        EXPECT_EQ(live.records.size(), sent.size());
        EXPECT_EQ(live.stats.corrupt, 0u);
    }
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();

    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    EXPECT_EQ(back.stats.records, sent.size());
    EXPECT_GT(back.segments.size(), 5u) << "300 records of 4 KiB segments";
    ASSERT_EQ(back.records.size(), sent.size());
    std::set<std::string> ids;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const SpoolRecord& r = back.records[i];
        const Sent& s = sent[i];
        SCOPED_TRACE("record " + std::to_string(i));
        EXPECT_EQ(r.topic, s.topic);
        EXPECT_EQ(r.key, s.key);
        EXPECT_EQ(r.headers, s.headers);
        EXPECT_EQ(r.payload, s.payload);
        EXPECT_EQ(r.reason, s.reason);
        EXPECT_EQ(r.possibly_persisted, s.possibly_persisted);
        EXPECT_EQ(r.error, s.error);
        if (s.timestamp_ms != 0) {
            EXPECT_EQ(r.timestamp_ms, s.timestamp_ms);
        } else {
            EXPECT_GE(r.timestamp_ms, before);
            EXPECT_LE(r.timestamp_ms, after);
        }
        EXPECT_TRUE(is_hex_id(r.id)) << r.id;
        ids.insert(r.id);
        EXPECT_EQ(r.segment.parent_path(), dir);
    }
    EXPECT_EQ(ids.size(), sent.size()) << "ids are unique";

    // The big record is alone in its segment, which is larger than segment_bytes.
    const auto big_it = std::find_if(back.records.begin(), back.records.end(),
                                     [&](const SpoolRecord& r) { return r.payload == big; });
    ASSERT_NE(big_it, back.records.end());
    EXPECT_EQ(std::count_if(back.records.begin(), back.records.end(),
                            [&](const SpoolRecord& r) { return r.segment == big_it->segment; }),
              1);
    EXPECT_GT(fs::file_size(big_it->segment), 10000u);
    // Sealed segments are cut to their used bytes.
    for (const auto& info : back.segments) {
        EXPECT_EQ(info.file_bytes % 8, 0u) << info.path;
        EXPECT_GE(info.created_ms, before) << info.path;
        EXPECT_EQ(info.pid, static_cast<std::uint32_t>(::getpid()));
    }
}

TEST(SpoolTest, ReasonsErrorsAndPossiblyPersistedFromAWriterMatchItsBuckets) {
    TempDir tmp;
    auto producer = std::make_shared<MockAsyncProducer>();
    auto spool = std::make_shared<SpoolFallback>(tmp / "spool", without_drain({}));
    KafkaWriter writer(producer, spool,
                       WriterOptions{.topic = "unit-spool", .breaker_enabled = false});

    producer->expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::queue_full)
        .expect_input_and_reject(ProduceStatus::too_large)
        .expect_input_and_fail({error_codes::message_timed_out, "timed out after send", true})
        .expect_input_and_fail({error_codes::message_timed_out, "timed out after send", true})
        .expect_input_and_fail({2, "broker said no", false})
        .expect_input_and_succeed();
    writer.write("qf-1", "key-qf-1");
    writer.write("qf-2");
    writer.write("tl-1", "key-tl-1");
    writer.write("df-pp-1", "key-df-1");
    writer.write("df-pp-2");
    writer.write("df-2", "key-df-3");
    writer.write("ok", "key-ok");
    writer.close(1s);
    writer.write("after-close", "key-ac");

    const WriterStats s = writer.stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.fallback_queue_full, 2u);
    EXPECT_EQ(s.fallback_too_large, 1u);
    EXPECT_EQ(s.fallback_delivery_failed, 3u);
    EXPECT_EQ(s.fallback_closed, 1u);
    EXPECT_EQ(s.possibly_persisted, 2u);

    const ReadBack back = read_spool(tmp / "spool");
    EXPECT_EQ(back.stats.corrupt, 0u);
    expect_buckets_match(s, back.records);
    std::map<std::string, SpoolRecord> by_payload;
    for (const auto& r : back.records) {
        EXPECT_EQ(r.topic, "unit-spool");
        by_payload[r.payload] = r;
    }
    ASSERT_EQ(by_payload.size(), 7u);
    EXPECT_EQ(by_payload["qf-1"].key, "key-qf-1");
    EXPECT_EQ(by_payload["qf-2"].key, std::nullopt);
    EXPECT_EQ(by_payload["tl-1"].reason, FallbackReason::too_large);
    EXPECT_TRUE(by_payload["df-pp-1"].possibly_persisted);
    EXPECT_EQ(by_payload["df-pp-1"].error, error_codes::message_timed_out);
    EXPECT_EQ(by_payload["df-pp-1"].key, "key-df-1");
    EXPECT_TRUE(by_payload["df-pp-2"].possibly_persisted);
    EXPECT_FALSE(by_payload["df-2"].possibly_persisted);
    EXPECT_EQ(by_payload["df-2"].error, 2);
    EXPECT_EQ(by_payload["qf-1"].error, 0);
    EXPECT_EQ(by_payload["after-close"].reason, FallbackReason::closed);
    EXPECT_EQ(by_payload["after-close"].key, "key-ac");
    EXPECT_EQ(by_payload.count("ok"), 0u) << "a delivered record is not in the spool";
}

// --- one writer per directory, modes ---------------------------------------------------------

TEST(SpoolTest, OneSpoolPerDirectoryAndPrivateModes) {
    TempDir tmp;
    const fs::path dir = tmp / "a" / "b" / "spool";
    auto first = std::make_unique<SpoolFallback>(dir);
    try {
        SpoolFallback second(dir);
        ADD_FAILURE() << "a second spool opened the same directory";
    } catch (const SpoolError& e) {
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr(dir.string()));
        EXPECT_THAT(what, HasSubstr("pid " + std::to_string(::getpid())));
        EXPECT_THAT(what, HasSubstr("this process"));
        EXPECT_EQ(e.path(), dir);
    }
    ASSERT_TRUE(first->write("one"));
    EXPECT_EQ(file_mode(dir), 0700u);
    EXPECT_EQ(file_mode(dir / "LOCK"), 0600u);
    const auto segments = segment_files(dir);
    ASSERT_EQ(segments.size(), 1u);
    EXPECT_EQ(file_mode(segments[0]), 0600u);
    EXPECT_EQ(test::read_lines(dir / "LOCK"), std::vector<std::string>{std::to_string(::getpid())});

    first.reset();
    SpoolFallback again(dir);
    ASSERT_TRUE(again.write("two"));
    const ReadBack back = read_spool(dir);
    ASSERT_EQ(back.records.size(), 2u);
    EXPECT_EQ(back.records[0].payload, "one");
    EXPECT_EQ(back.records[1].payload, "two");
}

TEST(SpoolTest, ReaderOfAMissingDirectoryNamesIt) {
    TempDir tmp;
    try {
        SpoolReader reader(tmp / "nope");
        ADD_FAILURE() << "no exception";
    } catch (const SpoolError& e) {
        EXPECT_THAT(e.what(), HasSubstr((tmp / "nope").string()));
    }
}

// --- the bound ----------------------------------------------------------------------------------

TEST(SpoolTest, PastMaxBytesRecordsAreRefusedCountedLostAndPrinted) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    WriterOnSpool t(dir, SpoolOptions{.max_bytes = 3 * 4096, .segment_bytes = 4096});
    constexpr int total = 200;
    ::testing::internal::CaptureStderr();
    for (int i = 0; i < total; ++i)
        t.write_rejected("bounded-" + std::to_string(i) + std::string(150, '.'));
    const std::string err = ::testing::internal::GetCapturedStderr();

    const WriterStats s = t.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(total));
    EXPECT_GT(s.fallback_queue_full, 30u) << "about three segments of records are stored";
    EXPECT_GT(s.lost, 100u);
    EXPECT_EQ(s.lost + s.fallback_queue_full, s.submitted);
    const SpoolStats spool = t.spool->stats();
    EXPECT_EQ(spool.refused_full, s.lost);
    EXPECT_EQ(spool.records, s.fallback_total());
    EXPECT_LE(spool.bytes_on_disk, 3u * 4096u);

    // The "is full" line, once (rate-limited), and every refused record on stderr.
    const auto lines = test::split_lines(err);
    EXPECT_EQ(
        std::count_if(lines.begin(), lines.end(),
                      [](const std::string& l) { return l.find("is full") != std::string::npos; }),
        1)
        << err;
    EXPECT_EQ(static_cast<std::uint64_t>(std::count_if(
                  lines.begin(), lines.end(),
                  [](const std::string& l) { return l.starts_with("kafka_log[lost]: bounded-"); })),
              s.lost);

    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    expect_buckets_match(s, back.records);
    // Exactly the records counted in the fallback, the first ones, in order; none counted lost.
    for (std::size_t i = 0; i < back.records.size(); ++i) {
        EXPECT_TRUE(back.records[i].payload.starts_with("bounded-" + std::to_string(i) + ".")) << i;
    }
    for (const auto& info : back.segments) EXPECT_LE(info.file_bytes, 4096u);
}

TEST(SpoolTest, ARecordTooBigForTheBoundDoesNotSealTheCurrentSegment) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    SpoolFallback spool(dir, SpoolOptions{.max_bytes = 2 * 4096, .segment_bytes = 4096});
    ASSERT_TRUE(spool.write("small-1"));
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(spool.write(std::string(3 * 4096, 'x'))) << "larger than the whole bound";
    ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(spool.write("small-2")) << "the current segment still has room";
    EXPECT_EQ(spool.stats().refused_full, 1u);
    EXPECT_EQ(segment_files(dir).size(), 1u);
    const ReadBack back = read_spool(dir);
    ASSERT_EQ(back.records.size(), 2u);
    EXPECT_EQ(back.records[1].payload, "small-2");
}

// --- segments reserved ahead ---------------------------------------------------------------

/// The names in `dir` that start with ".next-" (segments reserved ahead by the spool's thread).
std::vector<std::string> reserved_files(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with(".next-")) out.push_back(name);
    }
    return out;
}

/// A pid that no process has: a child that has exited and been reaped.
pid_t reaped_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

TEST(SpoolTest, TheNextSegmentIsReservedAheadAndOnlyEverHoldsRecordsOnceItIsNamed) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    fs::create_directories(dir);
    // Left by processes: one that is gone (removed at start) and one that lives (pid 1: kept).
    const std::string dead = ".next-" + std::to_string(reaped_pid()) + ".tmp";
    const std::string alive = ".next-1.tmp";
    write_bytes(dir / dead, std::string(4096, '\0'));
    write_bytes(dir / alive, std::string(4096, '\0'));

    const std::string own = ".next-" + std::to_string(::getpid()) + ".tmp";
    {
        SpoolFallback spool(dir, SpoolOptions{.segment_bytes = 4096});
        EXPECT_FALSE(fs::exists(dir / dead));
        EXPECT_TRUE(fs::exists(dir / alive));
        ASSERT_TRUE(test::wait_until([&] { return fs::exists(dir / own); }, 10s))
            << "the spool's thread reserves the first segment at start";
        // The file exists before it has its size (created, then reserved): wait for the size.
        EXPECT_TRUE(test::wait_until([&] { return fs::file_size(dir / own) == 4096u; }, 10s))
            << fs::file_size(dir / own);
        EXPECT_TRUE(test::wait_until([&] { return spool.stats().bytes_on_disk == 4096u; }, 10s))
            << "a reservation is counted against max_bytes";
        EXPECT_TRUE(segment_files(dir).empty());
        EXPECT_TRUE(read_spool(dir).segments.empty()) << "readers do not see a reservation";
        struct stat reserved {};
        ASSERT_EQ(::stat((dir / own).c_str(), &reserved), 0);
        ASSERT_TRUE(spool.write("first"));
        ASSERT_EQ(segment_files(dir).size(), 1u);
        struct stat first {};
        ASSERT_EQ(::stat(segment_files(dir)[0].c_str(), &first), 0);
        EXPECT_EQ(first.st_ino, reserved.st_ino) << "the first segment is the reservation, renamed";

        // Enough records for several segments: each roll renames the reservation, and the
        // thread reserves the next one. Every record reads back, in order, from named segments.
        constexpr int total = 120;
        for (int i = 1; i < total; ++i)
            ASSERT_TRUE(spool.write("ahead-" + std::to_string(i) + std::string(100, '.')));
        const auto segments = segment_files(dir);
        EXPECT_GE(segments.size(), 4u);
        ASSERT_TRUE(test::wait_until([&] { return fs::exists(dir / own); }, 10s))
            << "the next one is reserved again";
        const ReadBack back = read_spool(dir);
        EXPECT_EQ(back.stats.corrupt, 0u);
        ASSERT_EQ(back.records.size(), static_cast<std::size_t>(total));
        EXPECT_EQ(back.records[0].payload, "first");
        for (int i = 1; i < total; ++i) {
            EXPECT_TRUE(back.records[i].payload.starts_with("ahead-" + std::to_string(i) + "."))
                << i;
        }
        EXPECT_EQ(back.segments.size(), segments.size());
        // The file appears just before the spool counts it: wait for the two to agree.
        const auto on_disk = [&] {
            std::error_code ec;
            std::uint64_t sum = fs::file_size(dir / own, ec);
            for (const auto& segment : segments) sum += fs::file_size(segment);
            return sum;
        };
        EXPECT_TRUE(test::wait_until([&] { return spool.stats().bytes_on_disk == on_disk(); }, 10s))
            << spool.stats().bytes_on_disk << " counted, " << on_disk()
            << " on disk: sealed segments, the current one and the reservation";

        // A removed reservation is not used: the next roll makes a segment of its own.
        ASSERT_TRUE(fs::remove(dir / own));
        for (int i = 0; i < 40; ++i)
            ASSERT_TRUE(spool.write("after-" + std::to_string(i) + std::string(100, '.')));
        const ReadBack again = read_spool(dir);
        EXPECT_EQ(again.stats.corrupt, 0u);
        ASSERT_EQ(again.records.size(), static_cast<std::size_t>(total + 40));
        EXPECT_TRUE(again.records.back().payload.starts_with("after-39."));
    }
    EXPECT_EQ(reserved_files(dir), std::vector<std::string>{alive})
        << "the reservation goes with its spool";
}

// --- removal while running ------------------------------------------------------------------

TEST(SpoolTest, RemovedCurrentSegmentIsWrittenAgain) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    WriterOnSpool t(dir);
    constexpr int n = 50, m = 30;
    for (int i = 0; i < n; ++i)
        t.write_rejected("before-" + std::to_string(i), "k" + std::to_string(i));
    auto segments = segment_files(dir);
    ASSERT_EQ(segments.size(), 1u);
    ASSERT_TRUE(fs::remove(segments[0]));
    ::testing::internal::CaptureStderr();
    t.spool->check_now();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("was removed while in use"));
    for (int i = 0; i < m; ++i) t.write_rejected("after-" + std::to_string(i));

    const SpoolStats spool = t.spool->stats();
    EXPECT_EQ(spool.rewritten, static_cast<std::uint64_t>(n));
    EXPECT_EQ(spool.lost_after_write, 0u);
    const WriterStats s = t.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.fallback_queue_full, static_cast<std::uint64_t>(n + m));

    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    expect_buckets_match(s, back.records);
    ASSERT_EQ(back.records.size(), static_cast<std::size_t>(n + m));
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(back.records[i].payload, "before-" + std::to_string(i));
        EXPECT_EQ(back.records[i].key, "k" + std::to_string(i));
        EXPECT_EQ(back.records[i].topic, "spool-logs");
    }
    for (int i = 0; i < m; ++i)
        EXPECT_EQ(back.records[n + i].payload, "after-" + std::to_string(i));
}

TEST(SpoolTest, RemovedDirectoryIsMadeAgainWithItsLockAndEveryRecordWrittenAgain) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    WriterOnSpool t(dir, SpoolOptions{.segment_bytes = 4096});
    constexpr int n = 100, m = 20, k = 40;
    for (int i = 0; i < n; ++i)
        t.write_rejected("before-" + std::to_string(i) + std::string(40, '-'));
    ASSERT_GT(segment_files(dir).size(), 1u) << "sealed segments and a current one";
    // `rm -rf`, again if the spool's thread made its next reservation in the middle of it.
    ASSERT_TRUE(test::wait_until(
        [&] {
            std::error_code ec;
            fs::remove_all(dir, ec);
            return !fs::exists(dir);
        },
        10s));
    // Written after the removal, before the spool noticed: into the removed current segment.
    for (int i = 0; i < m; ++i) t.write_rejected("unnoticed-" + std::to_string(i));
    ::testing::internal::CaptureStderr();
    t.spool->check_now();
    ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(fs::is_directory(dir));
    ASSERT_TRUE(fs::exists(dir / "LOCK"));
    EXPECT_EQ(file_mode(dir), 0700u);
    EXPECT_THROW(SpoolFallback second(dir), SpoolError) << "the recreated directory is locked";
    for (int i = 0; i < k; ++i) t.write_rejected("after-" + std::to_string(i));

    const SpoolStats spool = t.spool->stats();
    // The unnoticed records went into the removed segment, or (when it filled) into a new
    // segment of the directory made again: written again, or there already.
    EXPECT_GE(spool.rewritten, static_cast<std::uint64_t>(n));
    EXPECT_LE(spool.rewritten, static_cast<std::uint64_t>(n + m));
    EXPECT_EQ(spool.lost_after_write, 0u);
    const WriterStats s = t.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 0u);
    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    expect_buckets_match(s, back.records);
    EXPECT_EQ(back.records.size(), static_cast<std::size_t>(n + m + k));
    std::set<std::string> payloads;
    for (const auto& r : back.records) payloads.insert(r.payload);
    EXPECT_EQ(payloads.size(), static_cast<std::size_t>(n + m + k)) << "each once";
    // The check also happens on the spool's own thread, and at destruction: nothing to do now.
    t.writer.reset();
    t.spool.reset();
    EXPECT_EQ(read_spool(dir).records.size(), static_cast<std::size_t>(n + m + k));
}

TEST(SpoolTest, RemovedSealedSegmentIsWrittenAgain) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    WriterOnSpool t(dir, SpoolOptions{.segment_bytes = 4096});
    for (int i = 0; i < 150; ++i) t.write_rejected("r-" + std::to_string(i) + std::string(30, '_'));
    const auto segments = segment_files(dir);
    ASSERT_GE(segments.size(), 3u);
    std::set<std::string> in_first;
    {
        const ReadBack before = read_spool(dir);
        ASSERT_EQ(before.records.size(), 150u);
        for (const auto& r : before.records) {
            if (r.segment == segments[0]) in_first.insert(r.payload);
        }
    }
    ASSERT_FALSE(in_first.empty());
    ASSERT_TRUE(fs::remove(segments[0]));
    ASSERT_TRUE(fs::remove(segments[1]));
    ::testing::internal::CaptureStderr();
    t.spool->check_now();
    ::testing::internal::GetCapturedStderr();
    const SpoolStats spool = t.spool->stats();
    EXPECT_GT(spool.rewritten, in_first.size());
    EXPECT_EQ(spool.lost_after_write, 0u);

    const WriterStats s = t.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, 0u);
    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    expect_buckets_match(s, back.records);
    std::set<std::string> payloads;
    for (const auto& r : back.records) payloads.insert(r.payload);
    EXPECT_EQ(payloads.size(), 150u);
    for (const auto& p : in_first) EXPECT_TRUE(payloads.count(p)) << p;
}

TEST(SpoolTest, RecordsThatCannotBeWrittenAgainAreCountedLostPrintedAndNotInTheSpool) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    WriterOnSpool t(dir);
    constexpr int n = 25;
    for (int i = 0; i < n; ++i) t.write_rejected("doomed-" + std::to_string(i));
    ASSERT_GT(fs::remove_all(dir), 0u);
    write_bytes(dir, "a file where the spool directory was");  // the directory cannot be made again
    ::testing::internal::CaptureStderr();
    t.spool->check_now();
    const std::string err = ::testing::internal::GetCapturedStderr();
    const auto lines = test::split_lines(err);
    EXPECT_EQ(std::count_if(
                  lines.begin(), lines.end(),
                  [](const std::string& l) { return l.starts_with("kafka_log[lost]: doomed-"); }),
              n)
        << err;
    EXPECT_EQ(t.spool->stats().lost_after_write, static_cast<std::uint64_t>(n));
    EXPECT_EQ(t.spool->stats().refused_error, 0u)
        << "a failed rewrite is lost_after_write, not a refusal too";
    WriterStats s = t.writer->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.lost, static_cast<std::uint64_t>(n));
    EXPECT_EQ(s.fallback_total(), 0u);

    // Once the path is free again, the spool makes its directory and goes on.
    fs::remove(dir);
    t.spool->check_now();
    t.write_rejected("later");
    s = t.writer->stats();
    EXPECT_TRUE(Balanced(s));
    const ReadBack back = read_spool(dir);
    expect_buckets_match(s, back.records);
    ASSERT_EQ(back.records.size(), 1u);
    EXPECT_EQ(back.records[0].payload, "later");
}

TEST(SpoolTest, ConcurrentWritersWhileSegmentsAndTheDirectoryAreRemoved) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    WriterOnSpool t(dir, SpoolOptions{.segment_bytes = 4096, .check_interval = 5ms});
    constexpr int threads = 4, per_thread = 1500;
    std::atomic<int> running{threads};
    ::testing::internal::CaptureStderr();
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&, w] {
            for (int i = 0; i < per_thread; ++i) {
                t.write_rejected(
                    "w" + std::to_string(w) + "-" + std::to_string(i) + std::string(i % 64, '.'),
                    "key-" + std::to_string(w));
            }
            --running;
        });
    }
    int round = 0;
    while (running.load() > 0 || round < 60) {
        std::error_code ec;
        if (round % 10 == 9) {
            fs::remove_all(dir, ec);
        } else {
            const auto segments = segment_files(dir);
            if (!segments.empty()) fs::remove(segments[round % segments.size()], ec);
        }
        if (round % 3 == 0) t.spool->check_now();
        if (round % 5 == 0) t.spool->flush();
        ++round;
        std::this_thread::yield();
    }
    for (auto& w : workers) w.join();
    t.spool->check_now();
    t.writer->close(1s);
    ::testing::internal::GetCapturedStderr();

    const WriterStats s = t.writer->stats();
    const SpoolStats spool = t.spool->stats();
    EXPECT_TRUE(Balanced(s));
    EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(threads * per_thread));
    EXPECT_EQ(s.lost, spool.lost_after_write + spool.refused_error + spool.refused_full);
    EXPECT_GT(spool.rewritten + spool.lost_after_write, 0u)
        << "rewritten " << spool.rewritten << " lost_after_write " << spool.lost_after_write
        << " refused_error " << spool.refused_error << " rounds " << round;
    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    expect_buckets_match(s, back.records);
    std::set<std::string> payloads;
    for (const auto& r : back.records) {
        EXPECT_TRUE(payloads.insert(r.payload).second) << "twice: " << r.payload;
        EXPECT_EQ(r.key, "key-" + r.payload.substr(1, r.payload.find('-') - 1));
    }
}

// --- corruption ------------------------------------------------------------------------------

/// A spool of `count` records over several sealed 4 KiB segments; returns the payloads.
std::vector<std::string> make_sealed_spool(const fs::path& dir, int count) {
    std::vector<std::string> payloads;
    SpoolFallback spool(dir, SpoolOptions{.segment_bytes = 4096});
    for (int i = 0; i < count; ++i) {
        payloads.push_back("payload-" + std::to_string(i) + "-" + std::string(60, 'p'));
        EXPECT_TRUE(
            spool.write(FallbackRecord{.topic = "t", .key = "k", .payload = payloads.back()}));
    }
    return payloads;
}

TEST(SpoolTest, AFlippedByteSkipsThatRecordOnly) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    const auto payloads = make_sealed_spool(dir, 150);
    const auto segments = segment_files(dir);
    ASSERT_GE(segments.size(), 3u);
    std::string bytes = read_bytes(segments[0]);
    const std::string victim = "payload-3-";
    const auto at = bytes.find(victim);
    ASSERT_NE(at, std::string::npos);
    bytes[at + victim.size() + 5] ^= 0x20;
    write_bytes(segments[0], bytes);

    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 1u);
    ASSERT_EQ(back.records.size(), payloads.size() - 1);
    std::size_t j = 0;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        if (i == 3) continue;
        EXPECT_EQ(back.records[j++].payload, payloads[i]) << i;
    }
}

TEST(SpoolTest, AnUnknownFormatVersionIsRefusedNamingTheFile) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    make_sealed_spool(dir, 100);
    const auto segments = segment_files(dir);
    ASSERT_GE(segments.size(), 2u);
    std::string bytes = read_bytes(segments[1]);
    auto* h = reinterpret_cast<unsigned char*>(bytes.data());
    ASSERT_EQ(bytes.compare(0, 8, std::string("KLSPOOL\0", 8)), 0);
    h[8] = 99;  // version 99, with a header CRC that holds: a whole header of a newer format
    h[9] = 0;
    const std::uint32_t crc = crc32c(h, 60);
    std::memcpy(h + 60, &crc, 4);
    write_bytes(segments[1], bytes);

    SpoolReader reader(dir);
    SpoolRecord r;
    std::size_t before = 0;
    try {
        while (reader.next(r)) ++before;
        ADD_FAILURE() << "version 99 was read";
    } catch (const SpoolError& e) {
        EXPECT_THAT(e.what(), HasSubstr(segments[1].string()));
        EXPECT_THAT(e.what(), HasSubstr("99"));
        EXPECT_EQ(e.path(), segments[1]);
    }
    EXPECT_GT(before, 0u) << "the first segment's records came first";
}

TEST(SpoolTest, ADamagedHeaderCountsOnceAndItsRecordsAreStillRead) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    const auto payloads = make_sealed_spool(dir, 100);
    const auto segments = segment_files(dir);
    std::string bytes = read_bytes(segments[0]);
    bytes[20] ^= 0x01;  // the sequence: the header's CRC no longer holds
    write_bytes(segments[0], bytes);
    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 1u);
    EXPECT_EQ(back.records.size(), payloads.size());
}

TEST(SpoolTest, TornTailsAreCountedAndTheRestIsRead) {
    TempDir tmp;
    {
        // The last frame cut in the middle (a copy cut short).
        const fs::path dir = tmp / "cut";
        const auto payloads = make_sealed_spool(dir, 100);
        const auto last = segment_files(dir).back();
        const ReadBack whole = read_spool(dir);
        const std::uint64_t last_offset = whole.records.back().offset;
        ASSERT_EQ(whole.records.back().segment, last);
        fs::resize_file(last, last_offset + 30);
        const ReadBack back = read_spool(dir);
        EXPECT_EQ(back.stats.corrupt, 1u);
        ASSERT_EQ(back.records.size(), payloads.size() - 1);
        EXPECT_EQ(back.records.back().payload, payloads[payloads.size() - 2]);
    }
    {
        // The last frame's magic never written: the body is there, with zeros after it
        // (a kill before the magic, in a segment with reserved space left).
        const fs::path dir = tmp / "nomagic";
        const auto payloads = make_sealed_spool(dir, 100);
        const auto last = segment_files(dir).back();
        const ReadBack whole = read_spool(dir);
        std::string bytes = read_bytes(last);
        const std::uint64_t off = whole.records.back().offset;
        std::memset(bytes.data() + off, 0, 4);
        bytes.append(4096, '\0');
        write_bytes(last, bytes);
        const ReadBack back = read_spool(dir);
        EXPECT_EQ(back.stats.corrupt, 0u) << "a copy a kill cut short is torn, not corrupt";
        EXPECT_EQ(back.stats.torn, 1u);
        EXPECT_EQ(back.records.size(), payloads.size() - 1);
    }
    {
        // A middle frame's magic zeroed and garbage after the last frame.
        const fs::path dir = tmp / "garbage";
        const auto payloads = make_sealed_spool(dir, 100);
        const ReadBack whole = read_spool(dir);
        const SpoolRecord& victim = whole.records[10];
        std::string bytes = read_bytes(victim.segment);
        std::memset(bytes.data() + victim.offset, 0, 4);
        write_bytes(victim.segment, bytes);
        const auto last = segment_files(dir).back();
        bytes = read_bytes(last);
        bytes.append("\x4b\x4c\x52\x31garbage-garbage!", 20);
        write_bytes(last, bytes);
        const ReadBack back = read_spool(dir);
        EXPECT_EQ(back.stats.corrupt, 2u);
        ASSERT_EQ(back.records.size(), payloads.size() - 1);
        EXPECT_EQ(back.records[10].payload, payloads[11]);
    }
    {
        // A segment made, never written (killed between fallocate and the header): no record,
        // nothing corrupt.
        const fs::path dir = tmp / "empty";
        const auto payloads = make_sealed_spool(dir, 10);
        write_bytes(dir / "seg-000000000099-1.kls", std::string(4096, '\0'));
        const ReadBack back = read_spool(dir);
        EXPECT_EQ(back.stats.corrupt, 0u);
        EXPECT_EQ(back.records.size(), payloads.size());
    }
}

// --- fork ------------------------------------------------------------------------------------

/// Waits for `pid` with a deadline (WNOHANG polling); kills it when the deadline passes.
int wait_child(pid_t pid, std::chrono::seconds deadline = 30s) {
    int status = 0;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (true) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0) return -1;
        if (std::chrono::steady_clock::now() >= end) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            ADD_FAILURE() << "child " << pid << " did not finish in time";
            return -1;
        }
        std::this_thread::yield();
    }
}

TEST(SpoolTest, AForkedChildWritesSegmentsOfItsOwn) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    auto spool = std::make_shared<SpoolFallback>(dir, SpoolOptions{.segment_bytes = 4096});
    ASSERT_TRUE(spool->write("parent-before-fork"));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int failures = 0;
        for (int i = 0; i < 100; ++i) {
            if (!spool->write(
                    FallbackRecord{.topic = "t", .payload = "child-" + std::to_string(i)}))
                ++failures;
        }
        spool.reset();
        ::_exit(failures == 0 ? 0 : 1);
    }
    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(
            spool->write(FallbackRecord{.topic = "t", .payload = "parent-" + std::to_string(i)}));
    }
    const int status = wait_child(child);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(spool->stats().records, 101u);
    spool.reset();

    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    ASSERT_EQ(back.records.size(), 201u);
    const std::string child_suffix = "-" + std::to_string(child) + ".kls";
    const std::string parent_suffix = "-" + std::to_string(::getpid()) + ".kls";
    int child_records = 0, parent_records = 0, child_next = 0, parent_next = 0;
    std::set<std::string> ids;
    for (const auto& r : back.records) {
        ids.insert(r.id);
        const std::string name = r.segment.filename().string();
        if (r.payload.starts_with("child-")) {
            EXPECT_TRUE(name.ends_with(child_suffix)) << name;
            EXPECT_EQ(r.payload, "child-" + std::to_string(child_next++)) << "in order";
            ++child_records;
        } else {
            EXPECT_TRUE(name.ends_with(parent_suffix)) << name;
            if (r.payload != "parent-before-fork") {
                EXPECT_EQ(r.payload, "parent-" + std::to_string(parent_next++));
            }
            ++parent_records;
        }
    }
    EXPECT_EQ(child_records, 100);
    EXPECT_EQ(parent_records, 101);
    EXPECT_EQ(ids.size(), 201u) << "ids are unique across the fork";
}

// --- SIGKILL ---------------------------------------------------------------------------------

TEST(SpoolTest, SigkillLosesNoCountedRecord) {
    TempDir tmp;
    const fs::path dir = tmp / "spool";
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(fds[0]);
        {
            auto producer = std::make_shared<MockAsyncProducer>();
            auto spool = std::make_shared<SpoolFallback>(
                dir, SpoolOptions{.segment_bytes = 64 * 1024,
                                  .replay_rate = 0});  // holding, not draining
            KafkaWriter writer(producer, spool, WriterOptions{.topic = "killed"});
            for (std::uint64_t i = 0;; ++i) {
                producer->expect_input_and_reject(ProduceStatus::queue_full);
                writer.write("r-" + std::to_string(i), "k");
                if (i % 100 == 99) {
                    const std::uint64_t counted = writer.stats().fallback_total();
                    if (::write(fds[1], &counted, sizeof counted) !=
                        static_cast<ssize_t>(sizeof counted))
                        break;
                }
            }
        }
        ::_exit(1);
    }
    ::close(fds[1]);
    std::uint64_t last_reported = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (last_reported < 5000 && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        std::uint64_t value = 0;
        if (::read(fds[0], &value, sizeof value) != static_cast<ssize_t>(sizeof value)) break;
        last_reported = value;
    }
    ::kill(child, SIGKILL);
    const int status = wait_child(child);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    ASSERT_GE(last_reported, 5000u);

    // Every record the child counted is whole, in order. The child was killed at any point,
    // possibly in the middle of a copy: a write that did not return was never counted, so its
    // frame may be a torn tail of the last segment, which is not a corruption: nothing is
    // corrupt (kafka_log_spool verify exits 0).
    const auto segments = segment_files(dir);
    ASSERT_FALSE(segments.empty());
    std::vector<SpoolRecord> records;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        SpoolReadStats stats;
        SpoolReader::read_segment(
            read_bytes(segments[i]), segments[i],
            [&](SpoolRecord&& r) { records.push_back(std::move(r)); }, stats);
        EXPECT_EQ(stats.corrupt, 0u) << segments[i];
        EXPECT_LE(stats.torn, i + 1 < segments.size() ? 0u : 1u) << segments[i];
    }
    EXPECT_GE(records.size(), last_reported);
    for (std::size_t i = 0; i < records.size(); ++i) {
        ASSERT_EQ(records[i].payload, "r-" + std::to_string(i)) << "no gap, no duplicate";
        ASSERT_EQ(records[i].reason, FallbackReason::queue_full);
        ASSERT_EQ(records[i].topic, "killed");
    }
    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.records.size(), records.size());
    // The dead child's lock is gone with it.
    SpoolFallback reopened(dir);
    EXPECT_TRUE(reopened.write("after the kill"));
}

// --- full disk -------------------------------------------------------------------------------

TEST(SpoolTest, AFullDiskRefusesRecordsAndKeepsEveryStoredOne) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts a 256 KiB tmpfs)";
    TempDir tmp;
    const fs::path mnt = tmp / "tmpfs";
    fs::create_directory(mnt);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
        GTEST_SKIP() << "needs root that may mount a tmpfs: " << std::strerror(errno);
    }
    struct Unmount {
        fs::path path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mnt};
    const fs::path dir = mnt / "spool";
    std::vector<std::string> stored;
    std::uint64_t refused = 0;
    {
        SpoolFallback spool(dir, SpoolOptions{.segment_bytes = 64 * 1024});
        ::testing::internal::CaptureStderr();
        for (int i = 0; i < 2000 && refused < 50; ++i) {
            std::string payload = "disk-" + std::to_string(i) + std::string(900, 'd');
            if (spool.write(FallbackRecord{.topic = "t", .payload = payload})) {
                stored.push_back(std::move(payload));
            } else {
                ++refused;
            }
        }
        const std::string err = ::testing::internal::GetCapturedStderr();
        EXPECT_THAT(err, HasSubstr("cannot make a new segment"));
        const SpoolStats stats = spool.stats();
        EXPECT_GT(stats.refused_error, 0u);
        EXPECT_EQ(stats.refused_error, refused);
        EXPECT_EQ(stats.records, stored.size());
    }
    EXPECT_GT(stored.size(), 100u);
    const ReadBack back = read_spool(dir);
    EXPECT_EQ(back.stats.corrupt, 0u);
    ASSERT_EQ(back.records.size(), stored.size());
    for (std::size_t i = 0; i < stored.size(); ++i) EXPECT_EQ(back.records[i].payload, stored[i]);
}

}  // namespace
}  // namespace kafka_log
