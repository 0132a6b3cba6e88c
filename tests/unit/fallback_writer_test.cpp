// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/fallback_writer.hpp"

#include <sys/stat.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace kafka_log {
namespace {

using test::read_lines;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FileFallbackTest, CreatesFileWithMode0600) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    FileFallback fallback(path);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(FileFallbackTest, AddsNewlineOnlyWhenMissing) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    {
        FileFallback fallback(path);
        EXPECT_TRUE(fallback.write("one"));
        EXPECT_TRUE(fallback.write("two\n"));
        EXPECT_TRUE(fallback.write(""));
        EXPECT_TRUE(fallback.flush());
    }
    EXPECT_THAT(read_lines(path), ElementsAre("one", "two", ""));
}

TEST(FileFallbackTest, AppendsAcrossReopen) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    { FileFallback(path).write("first run"); }
    {
        FileFallback fallback(path);
        fallback.write("second run");
        EXPECT_TRUE(fallback.reopen());
        fallback.write("after reopen");
    }
    EXPECT_THAT(read_lines(path), ElementsAre("first run", "second run", "after reopen"));
}

TEST(FileFallbackTest, RecreatesFileRemovedUnderIt) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    FileFallback fallback(path);
    fallback.write("before");
    std::filesystem::remove(path);
    EXPECT_TRUE(fallback.reopen());
    EXPECT_TRUE(fallback.write("after"));
    EXPECT_THAT(read_lines(path), ElementsAre("after"));
}

TEST(FileFallbackTest, ConcurrentWritersNeverInterleaveInsideALine) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    FileFallback fallback(path);
    constexpr int threads = 8;
    constexpr int per_thread = 2000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                // Lines of different lengths (up to ~9 KB) make torn writes visible.
                const std::string body(static_cast<std::size_t>((i * 37) % 9000), static_cast<char>('a' + t));
                ASSERT_TRUE(fallback.write("t" + std::to_string(t) + "-" + std::to_string(i) + ":" + body));
            }
        });
    }
    for (auto& w : workers) w.join();

    const auto lines = read_lines(path);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
    std::set<std::string> ids;
    for (const std::string& line : lines) {
        const auto colon = line.find(':');
        ASSERT_NE(colon, std::string::npos) << line.substr(0, 40);
        const std::string id = line.substr(0, colon);
        const int t = std::stoi(id.substr(1, id.find('-') - 1));
        const int i = std::stoi(id.substr(id.find('-') + 1));
        const std::string body = line.substr(colon + 1);
        ASSERT_EQ(body, std::string(static_cast<std::size_t>((i * 37) % 9000), static_cast<char>('a' + t)))
            << "line " << id << " was torn";
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), lines.size()) << "a line appears twice";
}

TEST(FileFallbackTest, RotatesBySizeAndKeepsMaxFiles) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    FileFallback fallback(path, FileFallbackOptions{.rotate_bytes = 100, .max_files = 2});
    const std::string record(39, 'x');  // 40 bytes a line: two lines per file
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(fallback.write(record));
    EXPECT_EQ(read_lines(path).size(), 1u);
    EXPECT_EQ(read_lines(dir / "fallback.log.1").size(), 2u);
    EXPECT_EQ(read_lines(dir / "fallback.log.2").size(), 2u);
    EXPECT_FALSE(std::filesystem::exists(dir / "fallback.log.3"));
}

TEST(FileFallbackTest, UnopenablePathThrowsNamingIt) {
    TempDir dir;
    const auto path = dir / "missing-dir" / "fallback.log";
    try {
        FileFallback fallback(path);
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path.string()));
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    }
}

TEST(FileFallbackTest, DevFullReportsFailureWithoutThrowing) {
    FileFallback fallback("/dev/full");
    EXPECT_FALSE(fallback.write("nowhere to go"));
    EXPECT_FALSE(fallback.write("still nowhere"));
}

TEST(FileFallbackTest, BufferedRecordsReachTheFileWhenTheBufferFillsAndAtFlush) {
    TempDir dir;
    const auto path = dir / "buffered.log";
    FileFallback fallback(path, FileFallbackOptions{.buffer_bytes = 32, .buffer_max_age = std::chrono::hours(1)});
    EXPECT_TRUE(fallback.write("0123456789"));  // 11 bytes with its newline
    EXPECT_TRUE(fallback.write("abcdefghij"));
    EXPECT_TRUE(read_lines(path).empty()) << "still in the buffer";
    EXPECT_TRUE(fallback.write("ABCDEFGHIJ"));  // 33 bytes would not fit: the first two go out
    EXPECT_THAT(read_lines(path), ElementsAre("0123456789", "abcdefghij"));
    EXPECT_TRUE(fallback.write(std::string(40, 'L')));  // larger than the buffer: written through
    EXPECT_THAT(read_lines(path), ElementsAre("0123456789", "abcdefghij", "ABCDEFGHIJ", std::string(40, 'L')));
    EXPECT_TRUE(fallback.write("tail"));
    EXPECT_TRUE(fallback.flush());
    EXPECT_THAT(read_lines(path),
                ElementsAre("0123456789", "abcdefghij", "ABCDEFGHIJ", std::string(40, 'L'), "tail"));
}

TEST(FileFallbackTest, BufferOlderThanItsMaxAgeIsWrittenByTheNextRecord) {
    TempDir dir;
    const auto path = dir / "aged.log";
    FileFallback fallback(path, FileFallbackOptions{.buffer_bytes = 4096, .buffer_max_age = std::chrono::milliseconds(0)});
    EXPECT_TRUE(fallback.write("first"));
    EXPECT_TRUE(fallback.write("second"));  // finds "first" old enough
    EXPECT_THAT(read_lines(path), ElementsAre("first"));
    EXPECT_TRUE(fallback.flush());
    EXPECT_THAT(read_lines(path), ElementsAre("first", "second"));
}

TEST(FileFallbackTest, BufferThatCannotReachTheFileIsReportedPerTagAndPrinted) {
    FileFallback fallback("/dev/full", FileFallbackOptions{.buffer_bytes = 4096});
    std::map<unsigned, std::uint64_t> lost;
    fallback.set_deferred_loss_handler([&](unsigned tag, std::uint64_t n) { lost[tag] += n; });
    EXPECT_TRUE(fallback.write_tagged("queued a", 3));
    EXPECT_TRUE(fallback.write_tagged("queued b", 3));
    EXPECT_TRUE(fallback.write_tagged("unreachable c", 6));
    EXPECT_TRUE(lost.empty());
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(fallback.flush());
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(lost, (std::map<unsigned, std::uint64_t>{{3, 2}, {6, 1}}));
    EXPECT_THAT(err, HasSubstr("kafka_log[lost]: queued a\n"));
    EXPECT_THAT(err, HasSubstr("kafka_log[lost]: queued b\n"));
    EXPECT_THAT(err, HasSubstr("kafka_log[lost]: unreachable c\n"));
    fallback.flush();
    EXPECT_EQ(lost, (std::map<unsigned, std::uint64_t>{{3, 2}, {6, 1}})) << "each loss reported once";
}

TEST(StreamFallbackTest, WritesOneLinePerRecord) {
    std::ostringstream out;
    StreamFallback fallback(out);
    EXPECT_TRUE(fallback.write("a"));
    EXPECT_TRUE(fallback.write("b\n"));
    EXPECT_TRUE(fallback.flush());
    EXPECT_EQ(out.str(), "a\nb\n");
}

/// A stream buffer whose device is always full.
class FailingBuffer final : public std::streambuf {
protected:
    int_type overflow(int_type) override { return traits_type::eof(); }
    std::streamsize xsputn(const char*, std::streamsize) override { return 0; }
};

TEST(StreamFallbackTest, FailedStreamReportsFalse) {
    FailingBuffer buffer;
    std::ostream broken(&buffer);
    StreamFallback fallback(broken);
    EXPECT_FALSE(fallback.write("record"));
    EXPECT_FALSE(fallback.write("another"));
}

TEST(StreamFallbackTest, StreamWithExceptionsEnabledNeverThrows) {
    FailingBuffer buffer;
    std::ostream broken(&buffer);
    broken.exceptions(std::ios::badbit | std::ios::failbit);
    StreamFallback fallback(broken);
    EXPECT_FALSE(fallback.write("record"));
}

}  // namespace
}  // namespace kafka_log
