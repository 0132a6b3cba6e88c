// SPDX-License-Identifier: Apache-2.0
// kafka_log_spool run as a user runs it: a spool written by SpoolFallback, read back through
// the built tool's stdout, stderr and exit status.

#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kafka_log/spool_fallback.hpp"
#include "test_support.hpp"

#ifndef KAFKA_LOG_SPOOL_TOOL
#error "KAFKA_LOG_SPOOL_TOOL must name the built kafka_log_spool"
#endif

namespace kafka_log {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace std::string_view_literals;

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

std::string shell_quote(std::string_view arg) {
    std::string quoted = "'";
    for (const char c : arg) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    return quoted + "'";
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

/// Runs the tool with `args`; stdout and stderr captured apart.
RunResult run_tool(const std::vector<std::string>& args) {
    const test::TempDir scratch;
    const fs::path err_file = scratch / "stderr";
    std::string command = shell_quote(KAFKA_LOG_SPOOL_TOOL);
    for (const auto& arg : args) command += " " + shell_quote(arg);
    command += " 2>" + shell_quote(err_file.string());
    RunResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        ADD_FAILURE() << "popen failed: " << command;
        return result;
    }
    std::array<char, 4096> buffer{};
    for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
        result.out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    result.err = read_file(err_file);
    return result;
}

std::string base64_decode(std::string_view text) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (const char c : text) {
        if (c == '=') break;
        const auto value = alphabet.find(c);
        if (value == std::string_view::npos) {
            ADD_FAILURE() << "not base64: " << text;
            return out;
        }
        bits = bits << 6 | static_cast<std::uint32_t>(value);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFFU);
        }
    }
    return out;
}

/// CRC-32C, bit by bit: the segment header check of a hand-edited segment.
std::uint32_t crc32c(std::string_view bytes) {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (const char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1U) != 0 ? (crc >> 1) ^ 0x82F63B78U : crc >> 1;
    }
    return ~crc;
}

struct Written {
    std::string topic;
    std::optional<std::string> key;
    std::string payload;
    FallbackReason reason;
    bool possibly_persisted;
    int error;
    std::int64_t timestamp_ms;
};

const std::string flip_payload = "this record's payload gets one byte flipped";

std::vector<Written> sample_records() {
    return {
        {"app", std::nullopt, "line one\nline two\ttabbed \"quoted\" back\\slash",
         FallbackReason::queue_full, false, 0, 1700000000123},
        {"app", "user-42", "nul\0inside\x01"s, FallbackReason::delivery_failed, true, -185,
         1700000000456},
        {"app", "k", flip_payload, FallbackReason::delivery_failed, false, 0, 1700000000500},
        {"audit", "\xff\xfe key", "bad \xff utf-8 \xc0\xaf overlong", FallbackReason::too_large,
         false, 10, 1700000001000},
        {"audit", "h\xc3\xa9", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
         FallbackReason::unreachable, true, 0, 1700000002789},
    };
}

class KafkaLogSpoolToolTest : public ::testing::Test {
protected:
    void SetUp() override {
        written_ = sample_records();
        SpoolFallback spool(spool_dir());
        for (const auto& w : written_) {
            FallbackRecord record;
            record.topic = w.topic;
            record.key = w.key ? std::string_view(*w.key) : std::string_view();
            record.headers = headers_;
            record.payload = w.payload;
            record.reason = w.reason;
            record.possibly_persisted = w.possibly_persisted;
            record.error = w.error;
            record.timestamp_ms = w.timestamp_ms;
            ASSERT_TRUE(spool.write(record));
        }
    }  // the spool is destroyed: its segment is sealed

    fs::path spool_dir() const { return dir_ / "spool"; }

    fs::path segment() const {
        for (const auto& entry : fs::directory_iterator(spool_dir())) {
            const std::string name = entry.path().filename().string();
            if (name.rfind("seg-", 0) == 0 && entry.path().extension() == ".kls")
                return entry.path();
        }
        ADD_FAILURE() << "no segment in " << spool_dir();
        return {};
    }

    std::vector<nlohmann::ordered_json> cat() {
        const RunResult r = run_tool({"cat", spool_dir().string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::vector<nlohmann::ordered_json> records;
        for (const auto& line : test::split_lines(r.out))
            records.push_back(nlohmann::ordered_json::parse(line));
        return records;
    }

    /// Checks one `cat` object against what was written, key order included.
    static void expect_record(const nlohmann::ordered_json& j, const Written& w) {
        std::vector<std::string> keys;
        for (const auto& item : j.items()) keys.push_back(item.key());
        ASSERT_EQ(keys.size(), 9U) << j.dump();
        EXPECT_EQ(keys[0], "id");
        EXPECT_EQ(keys[1], "topic");
        EXPECT_EQ(keys[3], "timestamp_ms");
        EXPECT_EQ(keys[4], "reason");
        EXPECT_EQ(keys[5], "possibly_persisted");
        EXPECT_EQ(keys[6], "error");
        const std::string id = j.at("id").get<std::string>();
        EXPECT_EQ(id.size(), 32U);
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
        EXPECT_EQ(j.at("topic"), w.topic);
        EXPECT_EQ(j.at("timestamp_ms").get<std::int64_t>(), w.timestamp_ms);
        EXPECT_EQ(j.at("reason"), std::string(to_string(w.reason)));
        EXPECT_EQ(j.at("possibly_persisted").get<bool>(), w.possibly_persisted);
        EXPECT_EQ(j.at("error").get<int>(), w.error);
        if (keys[2] == "key_b64") {
            ASSERT_TRUE(w.key.has_value());
            EXPECT_EQ(base64_decode(j.at("key_b64").get<std::string>()), *w.key);
        } else {
            ASSERT_EQ(keys[2], "key");
            if (w.key) {
                EXPECT_EQ(j.at("key"), *w.key);
            } else {
                EXPECT_TRUE(j.at("key").is_null());
            }
        }
        ASSERT_EQ(keys[7], "headers");
        const auto expected_headers = nlohmann::ordered_json::parse(
            R"([{"name":"trace","value":"abc"},{"name":"raw","value_b64":"/wB6"},)"
            R"({"name":"trace","value":""}])");
        EXPECT_EQ(j.at("headers"), expected_headers);
        if (keys[8] == "payload_b64") {
            EXPECT_EQ(base64_decode(j.at("payload_b64").get<std::string>()), w.payload);
        } else {
            ASSERT_EQ(keys[8], "payload");
            EXPECT_EQ(j.at("payload"), w.payload);
        }
    }

    test::TempDir dir_;
    std::vector<Written> written_;
    // Every record carries these: text, bytes that are not UTF-8, and a name given twice.
    const std::array<RecordHeader, 3> headers_{
        {{"trace", "abc"}, {"raw", "\xff\x00z"sv}, {"trace", ""}}};
};

TEST_F(KafkaLogSpoolToolTest, CatPrintsEveryRecordInWriteOrder) {
    const auto records = cat();
    ASSERT_EQ(records.size(), written_.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        SCOPED_TRACE(i);
        expect_record(records[i], written_[i]);
    }
    // Valid UTF-8 is text (NUL and control bytes escaped); invalid bytes fall back to base64.
    EXPECT_TRUE(records[0].at("key").is_null());
    EXPECT_EQ(records[1].at("key"), "user-42");
    EXPECT_EQ(records[1].at("payload"), "nul\0inside\x01"s);
    EXPECT_TRUE(records[3].contains("key_b64"));
    EXPECT_TRUE(records[3].contains("payload_b64"));
    EXPECT_FALSE(records[3].contains("payload"));
    EXPECT_EQ(records[3].at("payload_b64"), "YmFkIP8gdXRmLTggwK8gb3Zlcmxvbmc=");
    EXPECT_EQ(records[4].at("key"), "h\xc3\xa9");
    EXPECT_EQ(records[4].at("payload"), written_[4].payload);
    // Every record id differs.
    for (std::size_t i = 0; i < records.size(); ++i) {
        for (std::size_t k = i + 1; k < records.size(); ++k)
            EXPECT_NE(records[i].at("id"), records[k].at("id"));
    }
}

TEST_F(KafkaLogSpoolToolTest, CatWritesOneLinePerRecordWithEscapes) {
    const RunResult r = run_tool({"cat", spool_dir().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::split_lines(r.out).size(), written_.size());
    EXPECT_NE(r.out.find(R"("payload":"line one\nline two\ttabbed \"quoted\" back\\slash")"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(R"("payload":"nul\u0000inside\u0001")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(R"({"id":")"), std::string::npos);
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(KafkaLogSpoolToolTest, VerifyPassesOnAWholeSpool) {
    const RunResult r = run_tool({"verify", spool_dir().string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "records 5, corrupt 0, segments 1, torn 0\n");
}

TEST_F(KafkaLogSpoolToolTest, AFlippedByteIsReportedAndTheOtherRecordsStillRead) {
    const fs::path seg = segment();
    std::string bytes = read_file(seg);
    const auto at = bytes.find(flip_payload);
    ASSERT_NE(at, std::string::npos);
    ASSERT_EQ(bytes.find(flip_payload, at + 1), std::string::npos);
    bytes[at + 5] = static_cast<char>(bytes[at + 5] ^ 0x20);
    write_file(seg, bytes);

    const RunResult v = run_tool({"verify", spool_dir().string()});
    EXPECT_EQ(v.exit_code, 1) << v.err;
    EXPECT_EQ(v.out, "records 4, corrupt 1, segments 1, torn 0\n");

    const auto records = cat();
    ASSERT_EQ(records.size(), 4U);
    expect_record(records[0], written_[0]);
    expect_record(records[1], written_[1]);
    expect_record(records[2], written_[3]);
    expect_record(records[3], written_[4]);

    const RunResult c = run_tool({"cat", spool_dir().string()});
    EXPECT_NE(c.err.find("1 corrupt"), std::string::npos) << c.err;

    const RunResult l = run_tool({"ls", spool_dir().string()});
    EXPECT_EQ(l.exit_code, 0) << l.err;
    EXPECT_NE(l.out.find("corrupt 1\n"), std::string::npos) << l.out;
}

TEST_F(KafkaLogSpoolToolTest, LsListsSegmentsAndTotals) {
    const RunResult r = run_tool({"ls", spool_dir().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string name = segment().filename().string();
    const auto lines = test::split_lines(r.out);
    ASSERT_EQ(lines.size(), 7U) << r.out;
    EXPECT_EQ(
        lines[0].rfind(name + "  records 5  bytes " + std::to_string(fs::file_size(segment())), 0),
        0U)
        << lines[0];
    EXPECT_NE(lines[0].find("queue_full=1 too_large=1 delivery_failed=2 unreachable=1"),
              std::string::npos)
        << lines[0];
    EXPECT_EQ(lines[1], "segments 1");
    EXPECT_EQ(lines[2], "records 5  queue_full=1 too_large=1 delivery_failed=2 unreachable=1");
    EXPECT_EQ(lines[3], "bytes " + std::to_string(fs::file_size(segment())));
    EXPECT_EQ(lines[4], "oldest 2023-11-14T22:13:20.123Z");
    EXPECT_EQ(lines[5], "newest 2023-11-14T22:13:22.789Z");
    EXPECT_EQ(lines[6], "corrupt 0");
}

TEST_F(KafkaLogSpoolToolTest, UnknownFormatVersionExitsOne) {
    const fs::path seg = segment();
    std::string bytes = read_file(seg);
    ASSERT_GE(bytes.size(), 64U);
    bytes[8] = 2;  // version (u16 at 8)
    const std::uint32_t crc = crc32c(std::string_view(bytes).substr(0, 60));
    for (int i = 0; i < 4; ++i)
        bytes[60 + static_cast<std::size_t>(i)] = static_cast<char>((crc >> (8 * i)) & 0xFFU);
    write_file(seg, bytes);
    for (const char* command : {"ls", "cat", "verify"}) {
        const RunResult r = run_tool({command, spool_dir().string()});
        EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
        EXPECT_NE(r.err.find("version 2"), std::string::npos) << command << ": " << r.err;
        EXPECT_NE(r.err.find(seg.filename().string()), std::string::npos) << r.err;
    }
}

TEST(KafkaLogSpoolToolCommandLineTest, HelpPrintsUsage) {
    for (const char* flag : {"--help", "-h"}) {
        const RunResult r = run_tool({flag});
        EXPECT_EQ(r.exit_code, 0) << flag;
        EXPECT_NE(r.out.find("Usage: kafka_log_spool"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("verify DIR"), std::string::npos);
    }
}

TEST(KafkaLogSpoolToolCommandLineTest, BadCommandLinesExitTwoNamingTheProblem) {
    const test::TempDir dir;
    const struct {
        std::vector<std::string> args;
        std::string message;
    } cases[] = {
        {{}, "no command given"},
        {{"frob", dir.path().string()}, "unknown command 'frob'"},
        {{"cat"}, "'cat' needs a spool directory"},
        {{"verify", dir.path().string(), "extra"}, "unexpected argument 'extra'"},
        {{"--bogus", "ls", dir.path().string()}, "unknown option '--bogus'"},
    };
    for (const auto& c : cases) {
        const RunResult r = run_tool(c.args);
        EXPECT_EQ(r.exit_code, 2) << c.message;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

TEST(KafkaLogSpoolToolCommandLineTest, MissingOrNonDirectoryDirExitsTwo) {
    const test::TempDir dir;
    const fs::path missing = dir / "missing";
    const fs::path file = dir / "file";
    write_file(file, "not a spool");
    for (const fs::path& path : {missing, file}) {
        for (const char* command : {"ls", "cat", "verify"}) {
            const RunResult r = run_tool({command, path.string()});
            EXPECT_EQ(r.exit_code, 2) << command << " " << path;
            EXPECT_NE(r.err.find(path.string()), std::string::npos) << r.err;
        }
    }
}

TEST(KafkaLogSpoolToolCommandLineTest, AnEmptyDirectoryIsAnEmptySpool) {
    const test::TempDir dir;
    const RunResult v = run_tool({"verify", dir.path().string()});
    EXPECT_EQ(v.exit_code, 0) << v.err;
    EXPECT_EQ(v.out, "records 0, corrupt 0, segments 0, torn 0\n");
    const RunResult c = run_tool({"cat", dir.path().string()});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    EXPECT_TRUE(c.out.empty());
    const RunResult l = run_tool({"ls", dir.path().string()});
    EXPECT_EQ(l.exit_code, 0) << l.err;
    EXPECT_NE(l.out.find("oldest -\n"), std::string::npos) << l.out;
}

}  // namespace
}  // namespace kafka_log
