// SPDX-License-Identifier: Apache-2.0
// The parts of SpoolFallback and SpoolDrain, each alone: the frame encoder (read back by the
// reader's scan), segment files and their names, the directory lock, the settle queue, a
// replay's message and the marks a replayed segment leaves.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "../../src/core/spool/directory_lock.hpp"
#include "../../src/core/spool/frame_encoder.hpp"
#include "../../src/core/spool/replay_message.hpp"
#include "../../src/core/spool/replay_segment.hpp"
#include "../../src/core/spool/segment_file.hpp"
#include "../../src/core/spool/settle_queue.hpp"
#include "../../src/detail/spool_format.hpp"
#include "kafka_log/spool_reader.hpp"
#include "test_support.hpp"

namespace kafka_log::detail::spool {
namespace {

using test::TempDir;

TEST(SpoolFrameEncoderTest, FrameReadsBackWithEveryField) {
    const std::array<RecordHeader, 1> headers{RecordHeader{"h", "v"}};
    const FallbackRecord record{.topic = "logs",
                                .key = "k",
                                .headers = headers,
                                .payload = "hello",
                                .reason = FallbackReason::queue_full,
                                .error = -184};
    const std::size_t body = frame_body_size(record);
    ASSERT_GT(body, 0u);
    const std::size_t size = frame_size(body);
    EXPECT_EQ(size % frame_alignment, 0u);
    std::vector<unsigned char> bytes(size + 64, 0);
    encode_frame(bytes.data(), record, body,
                 FrameStamp{.reason = FallbackReason::queue_full,
                            .possibly_persisted = true,
                            .timestamp_ms = 1234,
                            .instance = 7,
                            .record_number = 9});
    const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const ScanResult found = scan(view, 0);
    ASSERT_EQ(found.kind, ScanResult::frame);
    EXPECT_EQ(found.found.total, size);
    SpoolRecord r;
    ASSERT_TRUE(parse_body(found.found.body, r));
    EXPECT_EQ(r.topic, "logs");
    ASSERT_TRUE(r.key.has_value());
    EXPECT_EQ(*r.key, "k");
    EXPECT_EQ(r.payload, "hello");
    EXPECT_EQ(r.reason, FallbackReason::queue_full);
    EXPECT_TRUE(r.possibly_persisted);
    EXPECT_EQ(r.error, -184);
    EXPECT_EQ(r.timestamp_ms, 1234);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "h");
    EXPECT_EQ(scan(view, size).kind, ScanResult::end) << "nothing but zeros after it";

    std::vector<unsigned char> copy(bytes.size(), 0);
    copy_frame(copy.data(), bytes.data(), size);
    EXPECT_EQ(copy, bytes);
}

TEST(SpoolFrameEncoderTest, RecordsThatCannotBeFramedHaveNoSize) {
    const std::string long_topic(0x10000, 't');
    EXPECT_EQ(frame_body_size(FallbackRecord{.topic = long_topic}), 0u);
    const std::string long_name(0x10000, 'n');
    const std::array<RecordHeader, 1> headers{RecordHeader{long_name, "v"}};
    EXPECT_EQ(frame_body_size(FallbackRecord{.topic = "t", .headers = headers}), 0u);
}

TEST(SpoolSegmentFileTest, NamesRoundTrip) {
    const std::string name = segment_file_name(42, 1234);
    EXPECT_EQ(name, "seg-000000000042-1234.kls");
    EXPECT_TRUE(is_segment_name(name));
    EXPECT_EQ(parse_sequence(name), 42u);
    EXPECT_FALSE(is_segment_name("LOCK"));
    EXPECT_EQ(prepared_pid(prepared_file_name(77)), 77);
    EXPECT_EQ(prepared_pid("seg-000000000042-1234.kls"), 0);
    EXPECT_EQ(prepared_pid(".next-x.tmp"), 0);
    const std::uint64_t token = make_token(5, 4096);
    EXPECT_EQ(token_sequence(token), 5u);
    EXPECT_EQ(token_offset(token), 4096u);
}

TEST(SpoolSegmentFileTest, ReservedFileHasItsHeaderAndSealFlag) {
    TempDir dir;
    SegmentFile seg = make_reserved_file(dir / "seg-000000000001-1.kls", 8192);
    ASSERT_GE(seg.fd, 0);
    ASSERT_NE(seg.map, nullptr);
    EXPECT_EQ(seg.size, 8192u);
    write_segment_header(seg, 1, 99);
    EXPECT_EQ(seg.used, segment_header_size);
    EXPECT_EQ(seg.sequence, 1u);
    EXPECT_EQ(get<std::uint64_t>(seg.map + hdr_instance), 99u);
    EXPECT_EQ(get<std::uint32_t>(seg.map + hdr_flags) & hdr_flag_sealed, 0u);
    mark_header_sealed(seg.map);
    EXPECT_NE(get<std::uint32_t>(seg.map + hdr_flags) & hdr_flag_sealed, 0u);
    close_segment(seg);
    EXPECT_EQ(seg.fd, -1);
    EXPECT_THROW(make_reserved_file(dir / "seg-000000000001-1.kls", 8192), std::system_error)
        << "never over an existing file";
}

TEST(SpoolDirectoryLockTest, SecondLockIsRefusedUntilReleased) {
    TempDir dir;
    DirectoryLock first(dir / "spool");
    first.acquire();
    EXPECT_FALSE(first.removed());
    DirectoryLock second(dir / "spool");
    EXPECT_THROW(second.acquire(), SpoolError);
    first.release();
    EXPECT_NO_THROW(second.acquire());
    std::filesystem::remove_all(dir / "spool");
    EXPECT_TRUE(second.removed());
}

TEST(SpoolSettleQueueTest, HandsOverInOrderAndSaysWhenABatchIsFull) {
    SettleQueue queue;
    for (std::uint64_t t = 1; t < SettleQueue::batch; ++t) EXPECT_FALSE(queue.push(t));
    EXPECT_TRUE(queue.push(SettleQueue::batch));
    std::vector<std::uint64_t> taken;
    queue.take([&](std::uint64_t t) { taken.push_back(t); });
    ASSERT_EQ(taken.size(), SettleQueue::batch);
    for (std::size_t i = 0; i < taken.size(); ++i) EXPECT_EQ(taken[i], i + 1);
    taken.clear();
    queue.push(7);
    queue.clear();
    queue.take([&](std::uint64_t t) { taken.push_back(t); });
    EXPECT_TRUE(taken.empty());
}

TEST(SpoolReplayMessageTest, CarriesTheRecordAndTheReplayHeaders) {
    SpoolRecord record;
    record.topic = "logs";
    record.key = "k";
    record.payload = "p";
    record.id = "0123456789abcdef0123456789abcdef";
    record.possibly_persisted = true;
    record.headers = {{"h", "v"}};
    std::vector<RecordHeader> headers;
    const MessageView own = replay_message(record, {}, headers);
    EXPECT_EQ(own.topic, "logs");
    EXPECT_EQ(own.key, "k");
    EXPECT_EQ(own.payload, "p");
    ASSERT_EQ(own.headers.size(), 3u);
    EXPECT_EQ(header_value(own, "h"), "v");
    EXPECT_EQ(header_value(own, replay_id_header), record.id);
    EXPECT_EQ(header_value(own, replayed_header), "possibly-duplicate");
    EXPECT_EQ(header_value(own, "absent"), "");
    record.possibly_persisted = false;
    const MessageView moved = replay_message(record, "elsewhere", headers);
    EXPECT_EQ(moved.topic, "elsewhere");
    EXPECT_EQ(moved.headers.size(), 3u);
    EXPECT_EQ(header_value(moved, replayed_header), "1");
}

TEST(SpoolReplaySegmentTest, MarksTheFrameStateInPlace) {
    TempDir dir;
    const auto path = dir / "segment";
    {
        std::vector<char> zeros(64, 0);
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, zeros.data(), zeros.size()), 64);
        ::close(fd);
    }
    {
        ReplaySegment segment;
        segment.fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(segment.fd, 0);
        segment.mark(16, state_replayed);
    }
    std::string bytes;
    ASSERT_EQ(read_whole_file(path, bytes), 0);
    EXPECT_EQ(get<std::uint32_t>(reinterpret_cast<const unsigned char*>(bytes.data()) + 16 +
                                 frame_state_offset),
              state_replayed);
    ReplaySegment unopened;
    unopened.mark(0, state_replayed);  // no file: nothing happens
}

}  // namespace
}  // namespace kafka_log::detail::spool
