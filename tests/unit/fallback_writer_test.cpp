// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/fallback_writer.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
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
using test::split_lines;
using test::TempDir;
using test::wait_until;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

/// Records what a fallback reports lost, per reason; called from any thread.
class RecordingListener final : public FallbackLossListener {
public:
    void on_fallback_loss(FallbackReason reason, std::uint64_t records) noexcept override {
        std::lock_guard lock(mutex_);
        lost_[reason] += records;
    }
    std::map<FallbackReason, std::uint64_t> lost() const {
        std::lock_guard lock(mutex_);
        return lost_;
    }
    std::uint64_t total() const {
        std::uint64_t sum = 0;
        for (const auto& [reason, n] : lost()) sum += n;
        return sum;
    }

private:
    mutable std::mutex mutex_;
    std::map<FallbackReason, std::uint64_t> lost_;
};

FallbackRecord record_of(std::string_view payload, FallbackReason reason) {
    return FallbackRecord{.payload = payload, .reason = reason};
}

/// The records a `kafka_log[lost]: ` line on stderr names.
std::vector<std::string> lost_lines(const std::string& err) {
    static constexpr std::string_view prefix = "kafka_log[lost]: ";
    std::vector<std::string> lost;
    for (const std::string& line : split_lines(err)) {
        if (line.starts_with(prefix)) lost.push_back(line.substr(prefix.size()));
    }
    return lost;
}

std::size_t count_of(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1))
        ++n;
    return n;
}

TEST(FallbackReasonTest, NamesEveryReason) {
    EXPECT_EQ(to_string(FallbackReason::queue_full), "queue_full");
    EXPECT_EQ(to_string(FallbackReason::too_large), "too_large");
    EXPECT_EQ(to_string(FallbackReason::delivery_failed), "delivery_failed");
    EXPECT_EQ(to_string(FallbackReason::closed), "closed");
    EXPECT_EQ(to_string(FallbackReason::unreachable), "unreachable");
    EXPECT_EQ(to_string(FallbackReason::reentrant), "reentrant");
    EXPECT_EQ(to_string(static_cast<FallbackReason>(0)), "unknown");
    EXPECT_EQ(to_string(static_cast<FallbackReason>(200)), "unknown");
}

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
        EXPECT_TRUE(fallback.write(FallbackRecord{
            .topic = "t", .key = "k", .payload = "three", .reason = FallbackReason::queue_full}));
        EXPECT_TRUE(fallback.flush());
    }
    EXPECT_THAT(read_lines(path), ElementsAre("one", "two", "", "three"));
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

TEST(FileFallbackTest, NeverJoinsAPartialLineAlreadyInTheFile) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    { std::ofstream(path) << "cut short by a crash"; }
    {
        FileFallback fallback(path);
        EXPECT_TRUE(fallback.write("next record"));
    }
    EXPECT_THAT(read_lines(path), ElementsAre("cut short by a crash", "next record"));
}

TEST(FileFallbackTest, RecreatesFileRemovedUnderItWithoutAReopen) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    FileFallback fallback(path);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(fallback.write("before " + std::to_string(i)));
    std::filesystem::remove(path);
    ::testing::internal::CaptureStderr();
    std::vector<std::string> after;
    for (int i = 0; i < 10; ++i) {
        after.push_back("after " + std::to_string(i));
        EXPECT_TRUE(fallback.write(after.back()));
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(read_lines(path), after);
    EXPECT_EQ(count_of(err, path.string() + " was removed; records written to it before are gone"),
              1u)
        << err;
}

TEST(FileFallbackTest, FollowsPathWhenTheFileIsRenamedUnderIt) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    const auto moved = dir / "fallback.log.archived";
    FileFallback fallback(path);
    ASSERT_TRUE(fallback.write("before"));
    std::filesystem::rename(path, moved);
    int written = 1;
    // The path is looked at every few ms: records meanwhile go to the moved file, none is lost.
    ASSERT_TRUE(wait_until(
        [&] {
            EXPECT_TRUE(fallback.write("record " + std::to_string(written)));
            ++written;
            return std::filesystem::exists(path);
        },
        std::chrono::seconds(10)));
    EXPECT_EQ(read_lines(moved).front(), "before");
    EXPECT_EQ(read_lines(moved).size() + read_lines(path).size(),
              static_cast<std::size_t>(written));
    EXPECT_EQ(read_lines(path).back(), "record " + std::to_string(written - 1));
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
                const std::string body(static_cast<std::size_t>((i * 37) % 9000),
                                       static_cast<char>('a' + t));
                ASSERT_TRUE(
                    fallback.write("t" + std::to_string(t) + "-" + std::to_string(i) + ":" + body));
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
        ASSERT_EQ(body, std::string(static_cast<std::size_t>((i * 37) % 9000),
                                    static_cast<char>('a' + t)))
            << "line " << id << " was torn";
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), lines.size()) << "a line appears twice";
}

TEST(FileFallbackTest, RotationNeverDeletesARecord) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    ::testing::internal::CaptureStderr();
    {
        FileFallback fallback(path, FileFallbackOptions{.rotate_bytes = 100, .max_files = 2});
        for (int i = 0; i < 100; ++i) {
            std::string record = "record " + std::to_string(i);
            record.resize(39, 'x');  // 40 bytes a line: two lines per file
            ASSERT_TRUE(fallback.write(record));
        }
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(read_lines(dir / "fallback.log.2").size(), 2u);
    EXPECT_EQ(read_lines(dir / "fallback.log.1").size(), 2u);
    EXPECT_EQ(read_lines(path).size(), 96u) << "grows past rotate_bytes rather than deleting";
    EXPECT_FALSE(std::filesystem::exists(dir / "fallback.log.3"));
    std::set<std::string> seen;
    for (const char* name : {"fallback.log.2", "fallback.log.1", "fallback.log"}) {
        for (const std::string& line : read_lines(dir / name))
            seen.insert(line.substr(0, line.find('x')));
    }
    EXPECT_EQ(seen.size(), 100u) << "every record is in one of the files";
    EXPECT_EQ(count_of(err, path.string() + ": not rotating, " + (dir / "fallback.log.2").string() +
                                " still holds records; move it away to resume rotation"),
              1u)
        << err;
}

TEST(FileFallbackTest, RotationResumesOnceTheLastFileIsMovedAway) {
    TempDir dir;
    const auto path = dir / "fallback.log";
    const std::string record(39, 'x');
    ::testing::internal::CaptureStderr();
    FileFallback fallback(path, FileFallbackOptions{.rotate_bytes = 100, .max_files = 1});
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(fallback.write(record));  // 2 in .1, 3 in path
    std::filesystem::rename(dir / "fallback.log.1", dir / "archived");
    ASSERT_TRUE(fallback.write(record));
    static_cast<void>(::testing::internal::GetCapturedStderr());
    EXPECT_EQ(read_lines(dir / "archived").size(), 2u);
    EXPECT_EQ(read_lines(dir / "fallback.log.1").size(), 3u);
    EXPECT_EQ(read_lines(path).size(), 1u);
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
    FileFallback fallback(
        path, FileFallbackOptions{.buffer_bytes = 32, .buffer_max_age = std::chrono::hours(1)});
    EXPECT_TRUE(fallback.write("0123456789"));  // 11 bytes with its newline
    EXPECT_TRUE(fallback.write("abcdefghij"));
    EXPECT_TRUE(read_lines(path).empty()) << "still in the buffer";
    EXPECT_TRUE(fallback.write("ABCDEFGHIJ"));  // 33 bytes would not fit: the first two go out
    EXPECT_THAT(read_lines(path), ElementsAre("0123456789", "abcdefghij"));
    EXPECT_TRUE(fallback.write(std::string(40, 'L')));  // larger than the buffer: written through
    EXPECT_THAT(read_lines(path),
                ElementsAre("0123456789", "abcdefghij", "ABCDEFGHIJ", std::string(40, 'L')));
    EXPECT_TRUE(fallback.write("tail"));
    EXPECT_TRUE(fallback.flush());
    EXPECT_THAT(read_lines(path), ElementsAre("0123456789", "abcdefghij", "ABCDEFGHIJ",
                                              std::string(40, 'L'), "tail"));
}

TEST(FileFallbackTest, BufferOlderThanItsMaxAgeIsWrittenWithoutAnotherWrite) {
    TempDir dir;
    const auto path = dir / "aged.log";
    FileFallback fallback(path,
                          FileFallbackOptions{.buffer_bytes = 64 * 1024,
                                              .buffer_max_age = std::chrono::milliseconds(50)});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(fallback.write("first"));
    EXPECT_TRUE(fallback.write("second"));
    EXPECT_TRUE(fallback.write("third"));
    EXPECT_TRUE(wait_until([&] { return read_lines(path).size() == 3; }, std::chrono::seconds(10)))
        << "the timer never wrote the buffer";
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50))
        << "written too early";
    EXPECT_THAT(read_lines(path), ElementsAre("first", "second", "third"));
}

TEST(FileFallbackTest, BufferThatCannotReachTheFileIsReportedPerListenerAndReasonAndPrinted) {
    RecordingListener one;
    RecordingListener two;
    FileFallback fallback(
        "/dev/full",
        FileFallbackOptions{.buffer_bytes = 4096, .buffer_max_age = std::chrono::hours(1)});
    EXPECT_TRUE(fallback.write(record_of("queued a", FallbackReason::queue_full), &one));
    EXPECT_TRUE(fallback.write(record_of("queued b", FallbackReason::queue_full), &one));
    EXPECT_TRUE(fallback.write(record_of("unreachable c", FallbackReason::unreachable), &one));
    EXPECT_TRUE(fallback.write(record_of("queued d", FallbackReason::queue_full), &two));
    EXPECT_TRUE(fallback.write(record_of("queued e", FallbackReason::queue_full), &one));
    EXPECT_TRUE(fallback.write(record_of("nobody listens", FallbackReason::closed), nullptr));
    EXPECT_THAT(one.lost(), IsEmpty());
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(fallback.flush());
    const std::string err = ::testing::internal::GetCapturedStderr();
    using Lost = std::map<FallbackReason, std::uint64_t>;
    EXPECT_EQ(one.lost(),
              (Lost{{FallbackReason::queue_full, 3}, {FallbackReason::unreachable, 1}}));
    EXPECT_EQ(two.lost(), (Lost{{FallbackReason::queue_full, 1}}));
    EXPECT_THAT(lost_lines(err), ElementsAre("queued a", "queued b", "unreachable c", "queued d",
                                             "queued e", "nobody listens"));
    fallback.flush();
    EXPECT_EQ(one.total() + two.total(), 5u) << "each loss reported once";
}

TEST(FileFallbackTest, DetachSettlesTheBufferAndTheListenerIsNeverCalledAgain) {
    TempDir dir;
    const auto path = dir / "buffered.log";
    RecordingListener leaving;
    RecordingListener staying;
    {
        FileFallback fallback(path, FileFallbackOptions{.buffer_bytes = 4096,
                                                        .buffer_max_age = std::chrono::hours(1)});
        EXPECT_TRUE(
            fallback.write(record_of("from leaving", FallbackReason::queue_full), &leaving));
        EXPECT_TRUE(
            fallback.write(record_of("from staying", FallbackReason::queue_full), &staying));
        fallback.detach(leaving);
        EXPECT_THAT(read_lines(path), ElementsAre("from leaving", "from staying"))
            << "detach writes the buffer";
    }
    EXPECT_THAT(leaving.lost(), IsEmpty());
    EXPECT_THAT(staying.lost(), IsEmpty());

    FileFallback full("/dev/full", FileFallbackOptions{.buffer_bytes = 4096,
                                                       .buffer_max_age = std::chrono::hours(1)});
    EXPECT_TRUE(full.write(record_of("a", FallbackReason::delivery_failed), &leaving));
    EXPECT_TRUE(full.write(record_of("b", FallbackReason::delivery_failed), &staying));
    ::testing::internal::CaptureStderr();
    full.detach(leaving);  // the buffer cannot be written: reported as usual, once
    EXPECT_TRUE(full.write(record_of("c", FallbackReason::delivery_failed), &staying));
    EXPECT_FALSE(full.flush());
    static_cast<void>(::testing::internal::GetCapturedStderr());
    EXPECT_EQ(leaving.total(), 1u);
    EXPECT_EQ(staying.total(), 2u);
}

TEST(FileFallbackTest, ManyListenersMayShareABufferedFallback) {
    TempDir dir;
    const auto path = dir / "shared.log";
    constexpr int threads = 4;
    constexpr int per_thread = 500;
    std::vector<RecordingListener> listeners(threads);
    {
        FileFallback fallback(path,
                              FileFallbackOptions{.buffer_bytes = 1024,
                                                  .buffer_max_age = std::chrono::milliseconds(1)});
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const std::string payload = "w" + std::to_string(t) + "-" + std::to_string(i);
                    ASSERT_TRUE(fallback.write(record_of(payload, FallbackReason::queue_full),
                                               &listeners[t]));
                }
                fallback.detach(listeners[t]);
            });
        }
        for (auto& w : workers) w.join();
    }
    const auto lines = read_lines(path);
    EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(),
              static_cast<std::size_t>(threads * per_thread));
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
    for (const auto& listener : listeners) EXPECT_THAT(listener.lost(), IsEmpty());
}

/// A small tmpfs mounted on a fresh directory, to fill up; unmounted at the end.
class SmallTmpfs {
public:
    explicit SmallTmpfs(const char* size_option) {
        mounted_ =
            ::geteuid() == 0 && ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, size_option) == 0;
    }
    ~SmallTmpfs() {
        if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
    }
    SmallTmpfs(const SmallTmpfs&) = delete;
    SmallTmpfs& operator=(const SmallTmpfs&) = delete;
    bool mounted() const { return mounted_; }
    std::filesystem::path operator/(const std::string& name) const { return dir_ / name; }

private:
    TempDir dir_;
    bool mounted_ = false;
};

void write_filler(const std::filesystem::path& path, std::size_t bytes) {
    std::ofstream out(path, std::ios::binary);
    out << std::string(bytes, 'F');
    ASSERT_TRUE(out.good());
}

/// Records of uneven lengths, so that the disk fills in the middle of one.
std::string numbered_record(int i) {
    const std::string id = "r" + std::to_string(i) + ":";
    return id + std::string(static_cast<std::size_t>(150 + (i * 53) % 700),
                            static_cast<char>('a' + i % 26));
}

TEST(FileFallbackTest, FullDiskLeavesOnlyWholeLinesAndFailsOnlyRecordsNotStored) {
    SmallTmpfs fs("size=256k");
    if (!fs.mounted()) GTEST_SKIP() << "needs root to mount a tmpfs";
    write_filler(fs / "filler", 64 * 1024);
    const auto path = fs / "fallback.log";
    FileFallback fallback(path);
    std::set<std::string> stored;
    int i = 0;
    int failures = 0;
    for (; i < 5000 && failures < 5; ++i) {
        const std::string record = numbered_record(i);
        if (fallback.write(record)) {
            stored.insert(record);
        } else {
            ++failures;
        }
    }
    ASSERT_EQ(failures, 5) << "the file system never filled";
    std::filesystem::remove(fs / "filler");
    for (const int end = i + 50; i < end; ++i) {
        const std::string record = numbered_record(i);
        ASSERT_TRUE(fallback.write(record)) << "space was freed";
        stored.insert(record);
    }
    const auto lines = read_lines(path);
    for (const std::string& line : lines) {
        ASSERT_TRUE(stored.count(line))
            << "a line that is not a whole stored record: " << line.substr(0, 40);
    }
    EXPECT_EQ(lines.size(), stored.size());
    EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), lines.size());
}

TEST(FileFallbackTest, BufferedOnFullDiskEachRecordIsEitherInTheFileOrReportedLost) {
    SmallTmpfs fs("size=256k");
    if (!fs.mounted()) GTEST_SKIP() << "needs root to mount a tmpfs";
    write_filler(fs / "filler", 64 * 1024);
    const auto path = fs / "fallback.log";
    RecordingListener listener;
    std::set<std::string> written;
    std::string err;
    {
        FileFallback fallback(path, FileFallbackOptions{.buffer_bytes = 4096,
                                                        .buffer_max_age = std::chrono::hours(1)});
        ::testing::internal::CaptureStderr();
        int i = 0;
        for (; i < 600; ++i) {  // ~300 KB: more than the file system holds
            const std::string record = numbered_record(i);
            ASSERT_TRUE(
                fallback.write(record_of(record, FallbackReason::delivery_failed), &listener));
            written.insert(record);
        }
        EXPECT_FALSE(fallback.flush());
        std::filesystem::remove(fs / "filler");
        for (const int end = i + 50; i < end; ++i) {
            const std::string record = numbered_record(i);
            ASSERT_TRUE(
                fallback.write(record_of(record, FallbackReason::delivery_failed), &listener));
            written.insert(record);
        }
        EXPECT_TRUE(fallback.flush()) << "space was freed";
        err = ::testing::internal::GetCapturedStderr();
        fallback.detach(listener);
    }
    const auto lines = read_lines(path);
    const auto lost = lost_lines(err);
    const std::set<std::string> in_file(lines.begin(), lines.end());
    const std::set<std::string> reported(lost.begin(), lost.end());
    EXPECT_EQ(in_file.size(), lines.size()) << "a record twice in the file";
    EXPECT_EQ(reported.size(), lost.size()) << "a record reported twice";
    for (const std::string& line : lines) {
        ASSERT_TRUE(written.count(line))
            << "a line that is not a whole record: " << line.substr(0, 40);
        ASSERT_FALSE(reported.count(line))
            << "in the file and reported lost: " << line.substr(0, 40);
    }
    for (const std::string& record : lost)
        ASSERT_TRUE(written.count(record)) << record.substr(0, 40);
    EXPECT_GT(lost.size(), 0u);
    EXPECT_EQ(
        listener.lost(),
        (std::map<FallbackReason, std::uint64_t>{{FallbackReason::delivery_failed, lost.size()}}));
    EXPECT_EQ(lines.size() + lost.size(), written.size());
}

TEST(StreamFallbackTest, WritesOneLinePerRecord) {
    std::ostringstream out;
    StreamFallback fallback(out);
    EXPECT_TRUE(fallback.write("a"));
    EXPECT_TRUE(fallback.write("b\n"));
    EXPECT_TRUE(fallback.write(FallbackRecord{
        .topic = "t", .key = "k", .payload = "c", .reason = FallbackReason::too_large}));
    EXPECT_TRUE(fallback.flush());
    EXPECT_EQ(out.str(), "a\nb\nc\n");
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

TEST(StreamFallbackTest, TransientFailureDoesNotStick) {
    std::ostringstream out;
    StreamFallback fallback(out);
    out.setstate(std::ios::badbit);
    EXPECT_TRUE(fallback.write("after a failure"));
    EXPECT_EQ(out.str(), "after a failure\n");
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
