// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/spool_fallback.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "../detail/crc32c.hpp"
#include "../detail/fork_generation.hpp"
#include "../detail/lost_line.hpp"
#include "../detail/spool_format.hpp"

namespace kafka_log {

namespace sp = detail::spool;

namespace {

std::int64_t now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::uint64_t random_u64() noexcept {
    std::uint64_t value = 0;
    if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof value)) {
        // No entropy yet (early boot): time, pid and an address still make a collision unlikely.
        value = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                (static_cast<std::uint64_t>(::getpid()) << 40) ^ reinterpret_cast<std::uintptr_t>(&value);
    }
    return value;
}

/// One stderr line, not more often than every 10 s per `last`.
void complain(std::chrono::steady_clock::time_point& last, const std::string& line) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (last != std::chrono::steady_clock::time_point{} && now - last < std::chrono::seconds(10)) return;
    last = now;
    const std::string text = "kafka_log: " + line + "\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

std::string errno_text(int error) { return std::system_category().message(error); }

/// Records of one segment, in write order: whose (listener) and why (reason).
struct Entry {
    FallbackLossListener* listener;
    FallbackReason reason;
    std::uint64_t count;
};

void add_entry(std::vector<Entry>& entries, FallbackLossListener* listener, FallbackReason reason,
               std::uint64_t count = 1) {
    if (!entries.empty() && entries.back().listener == listener && entries.back().reason == reason) {
        entries.back().count += count;
    } else {
        entries.push_back(Entry{listener, reason, count});
    }
}

struct Segment {
    std::filesystem::path path;
    int fd = -1;
    unsigned char* map = nullptr;  // the current segment only
    std::size_t size = 0;          // mapped (reserved) bytes
    std::size_t used = 0;          // header + frames
    bool unsynced = false;         // frames written since its last fdatasync
    std::vector<Entry> entries;    // its fallback records (journal copies are not entries)
    std::uint64_t sequence = 0;    // from its name; journal tokens name it
    std::uint64_t journal_open = 0;  // journal copies in it not settled yet
    bool release_deferred = false;   // a drain replayed its records; it goes once its copies settle
};

/// A journal token: the segment's sequence and the frame's offset (in 8-byte units). Below
/// 2^62, as MessageView::token requires, for any sequence below 2^30.
constexpr std::uint64_t make_token(std::uint64_t sequence, std::size_t offset) noexcept {
    return sequence << 32 | (static_cast<std::uint64_t>(offset) >> 3);
}
constexpr std::uint64_t token_sequence(std::uint64_t token) noexcept { return token >> 32; }
constexpr std::size_t token_offset(std::uint64_t token) noexcept {
    return static_cast<std::size_t>(token & 0xFFFF'FFFFU) << 3;
}

/// Makes `path` (which must not exist) with `size` bytes reserved, mapped and faulted in writable.
/// \throws std::system_error naming the step that failed; nothing is left behind then.
Segment make_reserved_file(const std::filesystem::path& path, std::size_t size) {
    Segment seg;
    seg.path = path;
    seg.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (seg.fd < 0) throw std::system_error(errno, std::system_category(), "open");
    if (const int error = ::posix_fallocate(seg.fd, 0, static_cast<off_t>(size)); error != 0) {
        ::close(seg.fd);
        ::unlink(path.c_str());
        throw std::system_error(error, std::system_category(), "fallocate " + std::to_string(size) + " bytes");
    }
    void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, seg.fd, 0);
    if (map == MAP_FAILED) {
        const int error = errno;
        ::close(seg.fd);
        ::unlink(path.c_str());
        throw std::system_error(error, std::system_category(), "mmap");
    }
    // Fault the pages in writable here, once per segment (one system call), rather than one
    // write fault per 4 KiB page as records arrive: that fault is most of a record's cost.
    // Kernels before 5.14 refuse the advice; the pages are then faulted in as they are used.
#ifdef MADV_POPULATE_WRITE
    static_cast<void>(::madvise(map, size, MADV_POPULATE_WRITE));
#endif
    seg.map = static_cast<unsigned char*>(map);
    seg.size = size;
    return seg;
}

/// Stores a zero into every page of a fresh (all-zero, not yet shared) segment. The kernel's
/// populate does not always spare the first user-space store into a page its fault: on some
/// virtual machines that fault costs microseconds, once per 4 KiB, and was most of a spooled
/// record's cost. The spool's thread pays it here, before the segment is used.
void fault_in_from_user_space(const Segment& seg) noexcept {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (std::size_t at = 0; at < seg.size; at += page) {
        *static_cast<volatile unsigned char*>(seg.map + at) = 0;
    }
}

constexpr std::string_view prepared_prefix = ".next-";
constexpr std::string_view prepared_suffix = ".tmp";

/// The pid in a prepared segment's name, or 0 when `name` is not one.
pid_t prepared_pid(const std::string& name) noexcept {
    if (name.size() <= prepared_prefix.size() + prepared_suffix.size() || name.rfind(prepared_prefix, 0) != 0 ||
        name.compare(name.size() - prepared_suffix.size(), prepared_suffix.size(), prepared_suffix) != 0) {
        return 0;
    }
    int pid = 0;
    const char* begin = name.data() + prepared_prefix.size();
    const char* end = name.data() + name.size() - prepared_suffix.size();
    const auto [ptr, ec] = std::from_chars(begin, end, pid);
    return ec == std::errc{} && ptr == end ? static_cast<pid_t>(pid) : 0;
}

std::uint64_t parse_sequence(const std::string& name) noexcept {
    // seg-<sequence>-<pid>.kls
    if (name.rfind(sp::segment_prefix, 0) != 0) return 0;
    std::uint64_t sequence = 0;
    const char* begin = name.data() + sp::segment_prefix.size();
    std::from_chars(begin, name.data() + name.size(), sequence);
    return sequence;
}

bool is_segment_name(const std::string& name) noexcept {
    return name.size() > sp::segment_prefix.size() + sp::segment_suffix.size() &&
           name.rfind(sp::segment_prefix, 0) == 0 &&
           name.compare(name.size() - sp::segment_suffix.size(), sp::segment_suffix.size(), sp::segment_suffix) == 0;
}

}  // namespace

struct SpoolFallback::Impl {
    std::filesystem::path dir;
    SpoolOptions options;
    mutable std::mutex mutex;
    int lock_fd = -1;
    Segment current;
    /// The next segment, reserved and faulted in ahead by the spool's thread under a temporary
    /// name (`.next-<pid>.tmp`, which readers ignore), so that a roll on the logging thread is
    /// a rename. Its bytes count in `stats.bytes_on_disk`.
    Segment prepared;
    bool want_prepared = false;
    std::vector<Segment> sealed;  // this object's earlier segments, fds kept open
    SpoolStats stats;
    std::uint64_t instance_id = random_u64();
    std::uint64_t next_record = 0;
    std::uint64_t generation = detail::fork_generation();
    std::chrono::steady_clock::time_point last_full_line{}, last_error_line{}, last_removed_line{}, last_journal_line{};

    /// Journal settles wait here, under their own small lock, and are applied under `mutex` in
    /// batches: by the settle that fills a batch, by the spool's thread within 100 ms, and by
    /// every call that reads the journal's state (stats, flush, the drain's, close). The thread
    /// that reports deliveries then takes the logging threads' lock once per batch, not once
    /// per record. A process killed meanwhile re-sends up to a batch more, flagged possibly
    /// duplicate.
    static constexpr std::size_t settle_batch = 64;
    std::mutex settle_mutex;
    std::vector<std::uint64_t> pending_settles;
    std::vector<std::uint64_t> applying_settles;  // swapped with pending_settles; under `mutex`

    // The spool's thread: checks for removal, syncs by interval.
    std::unique_ptr<std::condition_variable> wake = std::make_unique<std::condition_variable>();
    std::unique_ptr<std::thread> thread;
    bool stopping = false;
    bool thread_running = false;  // set by the thread once it holds the mutex

    void open_directory();
    void lock_directory();
    void start_thread();
    void thread_loop() noexcept;
    /// Stores a fallback record, or with `journal` a journal copy. \return the frame's offset in
    /// the current segment, 0 when it was not stored.
    std::size_t store_locked(const FallbackRecord& record, FallbackLossListener* listener, bool journal) noexcept;
    /// Deletes the sealed segment `at` (every record in it is on Kafka or settled).
    void delete_sealed_locked(std::vector<Segment>::iterator at) noexcept;
    bool append_frame_locked(std::string_view frame, FallbackLossListener* listener, FallbackReason reason) noexcept;
    /// `refusal_counts`: a refusal is a new record's (refused_*), not a rewrite's (which
    /// counts in lost_after_write only).
    /// `speak`: a refusal prints its stderr line (a journal copy's caller prints its own).
    bool roll_locked(std::size_t frame_size, bool refusal_counts = true, bool speak = true) noexcept;
    void seal_locked() noexcept;
    void prepare_unlocked(std::unique_lock<std::mutex>& lock) noexcept;
    void discard_prepared_locked(bool unlink_file) noexcept;
    std::uint64_t next_sequence_locked() const;
    void check_locked() noexcept;
    void recover_locked(Segment& removed, bool mapped) noexcept;
    void adopt_fork_locked() noexcept;
    void report_lost(std::string_view frames, const std::vector<Entry>& entries) noexcept;
    /// Applies the settles waiting in pending_settles (with `mutex` held).
    void apply_settles_locked() noexcept;
    void settle_locked(std::uint64_t token) noexcept;
};

// --- fork: every spool's mutex is held across fork(), so the child never inherits one held by
// a thread that does not exist there.

namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}
std::set<SpoolFallback::Impl*>& registry() {
    static std::set<SpoolFallback::Impl*> r;
    return r;
}
void before_fork() noexcept {
    registry_mutex().lock();
    for (auto* impl : registry()) {
        impl->mutex.lock();
        impl->settle_mutex.lock();
    }
}
void after_fork() noexcept {
    for (auto* impl : registry()) {
        impl->settle_mutex.unlock();
        impl->mutex.unlock();
    }
    registry_mutex().unlock();
}
void register_spool(SpoolFallback::Impl* impl) {
    static const int once = ::pthread_atfork(&before_fork, &after_fork, &after_fork);
    static_cast<void>(once);
    std::lock_guard lock(registry_mutex());
    registry().insert(impl);
}
void unregister_spool(SpoolFallback::Impl* impl) noexcept {
    std::lock_guard lock(registry_mutex());
    registry().erase(impl);
}

}  // namespace

// --- opening ----------------------------------------------------------------------------

void SpoolFallback::Impl::open_directory() {
    std::error_code ec;
    const bool made = std::filesystem::create_directories(dir, ec);
    if (ec) {
        throw SpoolError("kafka_log::SpoolFallback: cannot create spool directory '" + dir.string() + "': " +
                             ec.message(),
                         dir);
    }
    if (made) ::chmod(dir.c_str(), 0700);
    if (!std::filesystem::is_directory(dir, ec)) {
        throw SpoolError("kafka_log::SpoolFallback: '" + dir.string() + "' is not a directory", dir);
    }
}

void SpoolFallback::Impl::lock_directory() {
    const auto lock_path = dir / sp::lock_file_name;
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw SpoolError("kafka_log::SpoolFallback: cannot open lock file '" + lock_path.string() + "': " +
                             errno_text(errno),
                         dir);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        char text[32] = {};
        const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
        ::close(fd);
        if (error == EWOULDBLOCK) {
            std::string pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
            const bool ours = pid == std::to_string(::getpid());
            throw SpoolError("kafka_log::SpoolFallback: spool directory '" + dir.string() + "' is in use by pid " +
                                 (pid.empty() ? std::string("?") : pid) + (ours ? " (this process)" : "") +
                                 " (lock file " + lock_path.string() + "); one SpoolFallback per directory",
                             dir);
        }
        throw SpoolError("kafka_log::SpoolFallback: cannot lock '" + lock_path.string() + "': " + errno_text(error), dir);
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The lock holds all the same; only the pid in its message would be missing.
    }
    if (lock_fd >= 0) ::close(lock_fd);
    lock_fd = fd;
}

void SpoolFallback::Impl::start_thread() {
    thread = std::make_unique<std::thread>([this] { thread_loop(); });
}

std::uint64_t SpoolFallback::Impl::next_sequence_locked() const {
    std::uint64_t highest = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (is_segment_name(name)) highest = std::max(highest, parse_sequence(name));
    }
    for (const Segment& s : sealed) highest = std::max(highest, parse_sequence(s.path.filename().string()));
    if (current.fd >= 0) highest = std::max(highest, parse_sequence(current.path.filename().string()));
    return highest + 1;
}

SpoolFallback::SpoolFallback(std::filesystem::path directory, SpoolOptions options)
    : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.dir = std::move(directory);
    s.options = options;
    if (s.options.segment_bytes < 4096) s.options.segment_bytes = 4096;
    if (s.options.check_interval.count() <= 0) s.options.check_interval = std::chrono::milliseconds(1000);
    if (s.options.sync_interval.count() <= 0) s.options.sync_interval = std::chrono::milliseconds(1000);
    s.open_directory();
    s.lock_directory();
    std::error_code ec;
    for (std::filesystem::directory_iterator it(s.dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (const pid_t pid = prepared_pid(name); pid != 0) {
            // A segment prepared ahead by a process that is gone (or an earlier spool of this
            // one): it never held a record. A forked child of an earlier writer may still use its own.
            if (pid == ::getpid() || ::kill(pid, 0) != 0) ::unlink(it->path().c_str());
            continue;
        }
        if (!is_segment_name(name)) continue;
        std::error_code size_ec;
        const auto size = std::filesystem::file_size(it->path(), size_ec);
        if (!size_ec) s.stats.bytes_on_disk += size;
    }
    // The first segment is reserved (and its pages faulted in) by the spool's thread from the
    // start: an outage's first records pay no more than its later ones, and a disk too full for
    // one segment shows up now rather than at the outage.
    s.want_prepared = true;
    register_spool(impl_.get());
    try {
        s.start_thread();
    } catch (...) {
        unregister_spool(impl_.get());  // the registry must not keep a pointer to a spool never made
        ::close(s.lock_fd);
        throw;
    }
    // Return once the thread runs: a fork() right after the constructor then never copies a
    // thread that is still starting (and may hold a lock of a sanitizer's allocator, which has
    // no fork handler) into the child.
    std::unique_lock lock(s.mutex);
    s.wake->wait(lock, [&s] { return s.thread_running; });
}

SpoolFallback::~SpoolFallback() {
    Impl& s = *impl_;
    unregister_spool(impl_.get());
    const bool child = detail::in_forked_child(s.generation);
    {
        std::lock_guard lock(s.mutex);
        s.stopping = true;
        if (child) s.adopt_fork_locked();
        s.apply_settles_locked();
        s.check_locked();
        s.seal_locked();
        s.discard_prepared_locked(true);
        for (Segment& seg : s.sealed) {
            if (s.options.sync != SpoolSync::never) ::fdatasync(seg.fd);
            ::close(seg.fd);
        }
        s.sealed.clear();
    }
    s.wake->notify_all();
    if (s.thread && s.thread->joinable()) s.thread->join();
    if (s.lock_fd >= 0) ::close(s.lock_fd);
}

// --- writing ----------------------------------------------------------------------------

bool SpoolFallback::write(const FallbackRecord& record, FallbackLossListener* listener) noexcept {
    std::lock_guard lock(impl_->mutex);
    return impl_->store_locked(record, listener, false) != 0;
}

std::uint64_t SpoolFallback::journal(const FallbackRecord& record) noexcept {
    std::lock_guard lock(impl_->mutex);
    const std::size_t offset = impl_->store_locked(record, nullptr, true);
    return offset == 0 ? 0 : make_token(impl_->current.sequence, offset);
}

void SpoolFallback::settle(std::uint64_t token) noexcept {
    if (token == 0) return;
    Impl& s = *impl_;
    if (detail::in_forked_child(s.generation)) return;  // the parent's copy, the parent's to settle
    bool batch_full = false;
    try {
        std::lock_guard lock(s.settle_mutex);
        if (s.pending_settles.capacity() == 0) s.pending_settles.reserve(Impl::settle_batch * 2);
        s.pending_settles.push_back(token);
        batch_full = s.pending_settles.size() >= Impl::settle_batch;
    } catch (...) {
        // No memory to queue it: settled now, after those queued before it.
        std::lock_guard lock(s.mutex);
        s.apply_settles_locked();
        s.settle_locked(token);
        return;
    }
    if (batch_full) {
        std::lock_guard lock(s.mutex);
        s.apply_settles_locked();
    }
}

void SpoolFallback::Impl::apply_settles_locked() noexcept {
    {
        std::lock_guard lock(settle_mutex);
        if (pending_settles.empty()) return;
        applying_settles.swap(pending_settles);
    }
    for (const std::uint64_t token : applying_settles) settle_locked(token);
    applying_settles.clear();
}

void SpoolFallback::Impl::settle_locked(std::uint64_t token) noexcept {
    if (detail::in_forked_child(generation)) return;
    const std::uint64_t sequence = token_sequence(token);
    const std::size_t offset = token_offset(token);
    const std::uint32_t settled = sp::state_replayed;
    if (current.fd >= 0 && current.sequence == sequence) {
        if (current.journal_open == 0 || offset + sp::frame_header_size > current.used) return;
        std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(current.map + offset + sp::frame_state_offset))
            .store(settled, std::memory_order_relaxed);
        --current.journal_open;
        ++stats.settled;
        return;
    }
    for (auto it = sealed.begin(); it != sealed.end(); ++it) {
        if (it->sequence != sequence) continue;
        if (it->journal_open == 0 || offset + sp::frame_header_size > it->used) return;
        [[maybe_unused]] const ssize_t n =
            ::pwrite(it->fd, &settled, sizeof settled, static_cast<off_t>(offset + sp::frame_state_offset));
        --it->journal_open;
        ++stats.settled;
        if (it->journal_open == 0 && (it->entries.empty() || it->release_deferred)) delete_sealed_locked(it);
        return;
    }
    // Its segment was removed (its copies were counted settled then) or is unknown.
}

void SpoolFallback::Impl::delete_sealed_locked(std::vector<Segment>::iterator at) noexcept {
    if (::unlink(at->path.c_str()) == 0) {
        stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, at->used);
    }
    ::close(at->fd);
    sealed.erase(at);
    if (stats.segments > 0) --stats.segments;
}

std::size_t SpoolFallback::Impl::store_locked(const FallbackRecord& record, FallbackLossListener* listener,
                                              bool journal) noexcept {
    if (detail::in_forked_child(generation)) adopt_fork_locked();
    std::uint64_t& refused = journal ? stats.journal_refused : stats.refused_error;
    std::size_t body = sp::body_fixed_size + 2 + record.topic.size() + 4 + record.key.size() + 4 + record.payload.size();
    for (const RecordHeader& h : record.headers) body += 2 + h.name.size() + 4 + h.value.size();
    if (record.topic.size() > 0xFFFF || record.headers.size() > 0xFFFF || body > 0xFFFF'0000U) {
        ++refused;
        return 0;  // cannot be framed (a topic name of over 64 KiB, a 4 GiB record)
    }
    for (const RecordHeader& h : record.headers) {
        if (h.name.size() > 0xFFFF) {
            ++refused;
            return 0;
        }
    }
    const std::size_t frame = sp::align_up(sp::frame_header_size + body);
    if (current.map == nullptr || current.used + frame > current.size) {
        if (!roll_locked(frame, !journal, !journal)) {
            if (journal) {
                ++stats.journal_refused;
                complain(last_journal_line, "spool '" + dir.string() +
                                                "': no room for journal copies; records go to Kafka without one "
                                                "(they are not crash-safe until there is room)");
            }
            return 0;
        }
    }
    const std::size_t offset = current.used;
    unsigned char* const base = current.map + current.used;
    unsigned char* p = base + sp::frame_header_size;
    // A journal copy is "in flight": read back after its process stopped, it may be on Kafka.
    const FallbackReason reason = journal ? FallbackReason::in_flight : record.reason;
    const bool possibly_persisted = journal || record.possibly_persisted;
    *p++ = static_cast<unsigned char>(reason);
    *p++ = static_cast<unsigned char>((possibly_persisted ? sp::flag_possibly_persisted : 0) |
                                      (record.key.empty() ? 0 : sp::flag_has_key));
    sp::put<std::uint16_t>(p, static_cast<std::uint16_t>(record.headers.size()));
    p += 2;
    sp::put<std::int32_t>(p, record.error);
    p += 4;
    sp::put<std::int64_t>(p, record.timestamp_ms != 0 ? record.timestamp_ms : now_ms());
    p += 8;
    sp::put<std::uint64_t>(p, instance_id);
    sp::put<std::uint64_t>(p + 8, next_record++);
    p += sp::record_id_size;
    auto put_bytes = [&p](std::string_view bytes) {
        if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
        p += bytes.size();
    };
    sp::put<std::uint16_t>(p, static_cast<std::uint16_t>(record.topic.size()));
    p += 2;
    put_bytes(record.topic);
    sp::put<std::uint32_t>(p, static_cast<std::uint32_t>(record.key.size()));
    p += 4;
    put_bytes(record.key);
    for (const RecordHeader& h : record.headers) {
        sp::put<std::uint16_t>(p, static_cast<std::uint16_t>(h.name.size()));
        p += 2;
        put_bytes(h.name);
        sp::put<std::uint32_t>(p, static_cast<std::uint32_t>(h.value.size()));
        p += 4;
        put_bytes(h.value);
    }
    sp::put<std::uint32_t>(p, static_cast<std::uint32_t>(record.payload.size()));
    p += 4;
    put_bytes(record.payload);
    // The padding is zero already: the segment was reserved zero-filled and only grows.
    sp::put<std::uint32_t>(base + 4, static_cast<std::uint32_t>(body));
    sp::put<std::uint32_t>(base + 8, detail::crc32c_extend(0, base + sp::frame_header_size, body));
    sp::put<std::uint32_t>(base + 12, sp::state_held);
    // The magic last: a frame is whole once its magic is there, for a reader in this process
    // and for the page cache that outlives it.
    std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(base)).store(sp::frame_magic,
                                                                                 std::memory_order_release);
    if (options.sync == SpoolSync::every_record) {
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto start = reinterpret_cast<std::uintptr_t>(base) & ~(page - 1);
        if (::msync(reinterpret_cast<void*>(start), reinterpret_cast<std::uintptr_t>(base) + frame - start, MS_SYNC) !=
            0) {
            // In the page cache all the same (it survives the process); only power loss could take it.
        }
    }
    current.used += frame;
    current.unsynced = options.sync != SpoolSync::every_record;
    if (journal) {
        ++current.journal_open;
        ++stats.journaled;
        return offset;
    }
    try {
        add_entry(current.entries, listener, record.reason);
    } catch (...) {
        // No memory for the bookkeeping: the record is stored; a later removal could not be told.
    }
    ++stats.records;
    return offset;
}

bool SpoolFallback::Impl::roll_locked(std::size_t frame_size, bool refusal_counts, bool speak) noexcept {
    const std::size_t size =
        std::max<std::size_t>(options.segment_bytes, sp::align_up(sp::segment_header_size + frame_size));
    // What the directory would hold once the current segment is sealed (cut to its used bytes).
    const std::uint64_t unused = current.map != nullptr ? current.size - current.used : 0;
    std::uint64_t after_seal = stats.bytes_on_disk - std::min<std::uint64_t>(stats.bytes_on_disk, unused);
    if (prepared.map != nullptr && prepared.size >= size) {
        after_seal -= std::min<std::uint64_t>(after_seal, prepared.size);  // it becomes the new segment
    }
    if (after_seal + size > options.max_bytes) {
        // Refused without sealing: smaller records that still fit go on into the current segment.
        if (refusal_counts) ++stats.refused_full;
        if (speak) complain(last_full_line, "spool '" + dir.string() + "' is full (SpoolOptions::max_bytes " +
                                     std::to_string(options.max_bytes) +
                                     " bytes): new records are lost (printed to stderr) until it is replayed");
        return false;
    }
    seal_locked();
    try {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) {
            open_directory();
            lock_directory();
        }
        const std::uint64_t sequence = next_sequence_locked();
        char name[64];
        std::snprintf(name, sizeof name, "seg-%012llu-%d.kls", static_cast<unsigned long long>(sequence),
                      static_cast<int>(::getpid()));
        const std::filesystem::path path = dir / name;
        Segment seg;
        struct stat st {};
        if (prepared.map != nullptr && prepared.size >= size && ::fstat(prepared.fd, &st) == 0 && st.st_nlink > 0 &&
            ::rename(prepared.path.c_str(), path.c_str()) == 0) {
            seg = std::move(prepared);
            prepared = Segment{};
            seg.path = path;
            stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, seg.size);  // counted again below
        } else {
            seg = make_reserved_file(path, size);
        }
        std::memcpy(seg.map + sp::hdr_magic, sp::segment_magic.data(), sp::segment_magic.size());
        sp::put<std::uint16_t>(seg.map + sp::hdr_version, sp::format_version);
        sp::put<std::uint16_t>(seg.map + sp::hdr_size, static_cast<std::uint16_t>(sp::segment_header_size));
        sp::put<std::uint64_t>(seg.map + sp::hdr_sequence, sequence);
        sp::put<std::int64_t>(seg.map + sp::hdr_created, now_ms());
        sp::put<std::uint32_t>(seg.map + sp::hdr_pid, static_cast<std::uint32_t>(::getpid()));
        sp::put<std::uint64_t>(seg.map + sp::hdr_instance, instance_id);
        sp::put<std::uint32_t>(seg.map + sp::hdr_crc, detail::crc32c_extend(0, seg.map, sp::hdr_crc));
        seg.used = sp::segment_header_size;
        seg.sequence = sequence;
        stats.bytes_on_disk += seg.size;
        ++stats.segments;
        current = std::move(seg);
        want_prepared = true;  // the spool's thread reserves the next one meanwhile
        if (wake) wake->notify_all();
        return true;
    } catch (const std::exception& e) {
        if (refusal_counts) ++stats.refused_error;
        if (speak) complain(last_error_line, "spool '" + dir.string() + "': cannot make a new segment (" + e.what() +
                                      "): records are lost (printed to stderr) until it can");
        return false;
    }
}

void SpoolFallback::Impl::seal_locked() noexcept {
    if (current.map == nullptr) return;
    // Mark it sealed (a drain may take a sealed segment of a process that still runs).
    sp::put<std::uint32_t>(current.map + sp::hdr_flags,
                           sp::get<std::uint32_t>(current.map + sp::hdr_flags) | sp::hdr_flag_sealed);
    sp::put<std::uint32_t>(current.map + sp::hdr_crc, detail::crc32c_extend(0, current.map, sp::hdr_crc));
    ::munmap(current.map, current.size);
    current.map = nullptr;
    // Give back the reserved space the segment did not use.
    if (::ftruncate(current.fd, static_cast<off_t>(current.used)) == 0) {
        stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, current.size - current.used);
    }
    if (options.sync != SpoolSync::never && ::fdatasync(current.fd) == 0) current.unsynced = false;
    try {
        sealed.push_back(std::move(current));
        // Journal copies only, all settled: nothing in it for anyone.
        if (sealed.back().journal_open == 0 && sealed.back().entries.empty() &&
            sealed.back().used > sp::segment_header_size) {
            delete_sealed_locked(sealed.end() - 1);
        }
    } catch (...) {
        ::close(current.fd);  // no memory to remember it: it stays on disk, unwatched
        --stats.segments;
    }
    current = Segment{};
}

void SpoolFallback::Impl::discard_prepared_locked(bool unlink_file) noexcept {
    if (prepared.fd < 0) return;
    if (prepared.map != nullptr) ::munmap(prepared.map, prepared.size);
    if (unlink_file) ::unlink(prepared.path.c_str());
    ::close(prepared.fd);
    stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, prepared.size);
    prepared = Segment{};
}

void SpoolFallback::Impl::prepare_unlocked(std::unique_lock<std::mutex>& lock) noexcept {
    // Called by the spool's thread with `lock` held; reserves without it (fallocate and the
    // page faults of 16 MiB take milliseconds), so that writers go on meanwhile.
    want_prepared = false;
    const std::size_t size = static_cast<std::size_t>(options.segment_bytes);
    if (prepared.map != nullptr || stats.bytes_on_disk + size > options.max_bytes) return;
    const std::uint64_t generation_then = generation;
    char name[64];
    std::snprintf(name, sizeof name, "%.*s%d%.*s", static_cast<int>(prepared_prefix.size()), prepared_prefix.data(),
                  static_cast<int>(::getpid()), static_cast<int>(prepared_suffix.size()), prepared_suffix.data());
    const std::filesystem::path path = dir / name;
    lock.unlock();
    Segment seg;
    try {
        ::unlink(path.c_str());  // one left by a failed earlier attempt
        seg = make_reserved_file(path, size);
        fault_in_from_user_space(seg);
    } catch (...) {
        // Not reserved ahead (disk full, no directory): the next roll tries on the logging
        // thread and reports what fails there.
    }
    lock.lock();
    if (seg.fd < 0) return;
    // Meanwhile a roll may have made a segment inline: the reservation must still fit.
    if (stopping || generation != generation_then || prepared.fd >= 0 ||
        stats.bytes_on_disk + size > options.max_bytes) {
        ::munmap(seg.map, seg.size);
        ::unlink(seg.path.c_str());
        ::close(seg.fd);
        return;
    }
    prepared = std::move(seg);
    stats.bytes_on_disk += prepared.size;
}

// --- removal ----------------------------------------------------------------------------

void SpoolFallback::check_now() noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->check_locked();
}

void SpoolFallback::Impl::check_locked() noexcept {
    if (detail::in_forked_child(generation)) adopt_fork_locked();
    struct stat st {};
    if (lock_fd >= 0 && ::fstat(lock_fd, &st) == 0 && st.st_nlink == 0) {
        // The directory (or its lock file) was removed: make it again, and lock it again.
        try {
            open_directory();
            lock_directory();
        } catch (const std::exception& e) {
            complain(last_error_line, std::string(e.what()));
        }
    }
    if (prepared.fd >= 0 && ::fstat(prepared.fd, &st) == 0 && st.st_nlink == 0) {
        discard_prepared_locked(false);  // it held no record
        want_prepared = true;
    }
    if (current.fd >= 0 && ::fstat(current.fd, &st) == 0 && st.st_nlink == 0) {
        Segment removed = std::move(current);
        current = Segment{};
        stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, removed.size);
        --stats.segments;
        recover_locked(removed, true);
    }
    for (std::size_t i = 0; i < sealed.size();) {
        if (::fstat(sealed[i].fd, &st) == 0 && st.st_nlink == 0) {
            Segment removed = std::move(sealed[i]);
            sealed.erase(sealed.begin() + static_cast<std::ptrdiff_t>(i));
            stats.bytes_on_disk -= std::min<std::uint64_t>(stats.bytes_on_disk, removed.used);
            --stats.segments;
            recover_locked(removed, false);
        } else {
            ++i;
        }
    }
}

void SpoolFallback::Impl::recover_locked(Segment& removed, bool mapped) noexcept {
    // The segment's records are still at hand: in the mapping, or through the open descriptor
    // of the unlinked file. Write them again, frame by frame, into the current segment.
    std::string copy;
    std::string_view bytes;
    if (mapped) {
        bytes = std::string_view(reinterpret_cast<const char*>(removed.map), removed.used);
    } else {
        try {
            copy.resize(removed.used);
            std::size_t done = 0;
            while (done < copy.size()) {
                const ssize_t n = ::pread(removed.fd, copy.data() + done, copy.size() - done, static_cast<off_t>(done));
                if (n <= 0) break;
                done += static_cast<std::size_t>(n);
            }
            copy.resize(done);
        } catch (...) {
            copy.clear();
        }
        bytes = copy;
    }
    complain(last_removed_line, "spool segment '" + removed.path.string() +
                                    "' was removed while in use: its records are written again into '" +
                                    dir.string() + "'" +
                                    (removed.journal_open > 0
                                         ? "; " + std::to_string(removed.journal_open) +
                                               " journal copies went with it (their records are with the "
                                               "producer, not crash-safe until it confirms them)"
                                         : std::string()));
    stats.settled += removed.journal_open;  // no copy is left to settle
    removed.journal_open = 0;
    std::size_t entry = 0;
    std::uint64_t used_of_entry = 0;
    std::uint64_t records = 0;
    for (const Entry& e : removed.entries) records += e.count;
    std::size_t pos = sp::segment_header_size;
    std::uint64_t seen = 0;
    while (seen < records) {
        const sp::ScanResult r = sp::scan(bytes, pos);
        if (r.kind == sp::ScanResult::end) break;
        pos = r.next;
        if (r.kind != sp::ScanResult::frame) continue;
        if (!r.found.body.empty() && static_cast<unsigned char>(r.found.body[0]) ==
                                         static_cast<unsigned char>(FallbackReason::in_flight)) {
            continue;  // a journal copy: its record is with the producer, not a fallback record
        }
        while (entry < removed.entries.size() && used_of_entry == removed.entries[entry].count) {
            ++entry;
            used_of_entry = 0;
        }
        if (entry == removed.entries.size()) break;
        const Entry& owner = removed.entries[entry];
        ++used_of_entry;
        ++seen;
        const std::string_view frame = bytes.substr(r.found.offset, r.found.total);
        if (append_frame_locked(frame, owner.listener, owner.reason)) {
            ++stats.rewritten;
        } else {
            report_lost(frame, {Entry{owner.listener, owner.reason, 1}});
        }
    }
    if (seen < records) {
        // Frames that could not be read back (the descriptor failed): tell their writers.
        std::vector<Entry> rest;
        std::uint64_t skip = seen;
        for (const Entry& e : removed.entries) {
            const std::uint64_t take = std::min(skip, e.count);
            skip -= take;
            if (e.count > take) rest.push_back(Entry{e.listener, e.reason, e.count - take});
        }
        report_lost({}, rest);
    }
    if (removed.map != nullptr) ::munmap(removed.map, removed.size);
    if (removed.fd >= 0) ::close(removed.fd);
}

bool SpoolFallback::Impl::append_frame_locked(std::string_view frame, FallbackLossListener* listener,
                                              FallbackReason reason) noexcept {
    if (current.map == nullptr || current.used + frame.size() > current.size) {
        if (!roll_locked(frame.size(), false)) return false;
    }
    unsigned char* const base = current.map + current.used;
    std::memcpy(base + 4, frame.data() + 4, frame.size() - 4);
    std::uint32_t magic;
    std::memcpy(&magic, frame.data(), 4);
    std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(base)).store(magic, std::memory_order_release);
    current.used += frame.size();
    current.unsynced = true;
    try {
        add_entry(current.entries, listener, reason);
    } catch (...) {
    }
    return true;
}

void SpoolFallback::Impl::report_lost(std::string_view frames, const std::vector<Entry>& entries) noexcept {
    std::uint64_t lost = 0;
    for (const Entry& e : entries) lost += e.count;
    stats.lost_after_write += lost;
    // Print what is at hand of them; the rest is named by count.
    std::size_t pos = 0;
    std::uint64_t printed = 0;
    sp::Frame f;
    while (pos < frames.size() && sp::frame_at(frames, pos, f)) {
        try {
            SpoolRecord r;
            if (sp::parse_body(f.body, r)) {
                detail::write_lost_line(r.payload);
                ++printed;
            }
        } catch (...) {
            // No memory to decode it: counted below.
        }
        pos += f.total;
    }
    if (lost > printed) {
        const std::string line = "kafka_log[lost]: " + std::to_string(lost - printed) + " records of spool '" +
                                 dir.string() + "' were removed and could not be read back\n";
        [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    }
    for (const Entry& e : entries) {
        if (e.listener != nullptr) e.listener->on_fallback_loss(e.reason, e.count);
    }
}

// --- fork -------------------------------------------------------------------------------

void SpoolFallback::Impl::adopt_fork_locked() noexcept {
    // In a forked child: the mapping and the records in it are the parent's (it goes on writing
    // them), and so are the thread and its condition variable, which must not be joined or
    // destroyed here. Leave them, and start segments of our own.
    if (thread) static_cast<void>(thread.release());
    static_cast<void>(wake.release());
    {
        std::lock_guard lock(settle_mutex);
        pending_settles.clear();  // the parent's copies, the parent's to settle
    }
    try {
        wake = std::make_unique<std::condition_variable>();
    } catch (...) {
    }
    if (current.map != nullptr) ::munmap(current.map, current.size);
    if (current.fd >= 0) ::close(current.fd);
    current = Segment{};
    discard_prepared_locked(false);  // the parent's, under the parent's pid
    want_prepared = false;
    for (Segment& s : sealed) ::close(s.fd);
    sealed.clear();
    // The counters are this process's: the parent's records stay the parent's.
    stats.segments = 0;
    stats.records = 0;
    stats.refused_full = 0;
    stats.refused_error = 0;
    stats.rewritten = 0;
    stats.lost_after_write = 0;
    stats.replayed = 0;
    stats.found = 0;
    instance_id = random_u64();
    next_record = 0;
    generation = detail::fork_generation();
    if (!stopping && wake) {
        try {
            start_thread();
        } catch (...) {
            // No thread: removal is still noticed when a segment is made.
        }
    }
}

// --- the spool's thread -------------------------------------------------------------------

void SpoolFallback::Impl::thread_loop() noexcept {
    ::pthread_setname_np(::pthread_self(), "kafka_log:spool");  // as top and perf show it
    using clock = std::chrono::steady_clock;
    auto next_check = clock::now() + options.check_interval;
    auto next_sync = clock::now() + options.sync_interval;
    std::unique_lock lock(mutex);
    std::condition_variable& cv = *wake;
    thread_running = true;
    cv.notify_all();
    while (!stopping) {
        auto until = options.sync == SpoolSync::interval ? std::min(next_check, next_sync) : next_check;
        // The settles of the last records before a pause wait for no later batch.
        if (options.journal) until = std::min(until, clock::now() + std::chrono::milliseconds(100));
        cv.wait_until(lock, until, [this] { return stopping || want_prepared; });
        if (stopping) break;
        apply_settles_locked();
        if (want_prepared) prepare_unlocked(lock);
        if (stopping) break;
        const auto now = clock::now();
        if (now >= next_check) {
            check_locked();
            next_check = now + options.check_interval;
        }
        if (options.sync == SpoolSync::interval && now >= next_sync && current.fd >= 0) {
            const int fd = ::dup(current.fd);
            lock.unlock();
            if (fd >= 0) {
                ::fdatasync(fd);  // also writes the pages dirtied through the mapping
                ::close(fd);
            }
            lock.lock();
            next_sync = now + options.sync_interval;
        }
    }
}

bool SpoolFallback::flush() noexcept {
    // The current segment and every sealed one written since it was last synced: a segment
    // sealed (unmapped) since the last flush holds records only in the page cache too.
    std::vector<int> fds;
    bool ok = true;
    {
        std::lock_guard lock(impl_->mutex);
        if (detail::in_forked_child(impl_->generation)) impl_->adopt_fork_locked();
        impl_->apply_settles_locked();
        try {
            auto take = [&fds](Segment& seg) {
                // A segment of settled journal copies only has nothing to keep (their records
                // are on Kafka): no sync, whose writeback would also write-protect the pages
                // reserved ahead, and every later copy would fault them in again.
                if (seg.fd < 0 || !seg.unsynced || (seg.entries.empty() && seg.journal_open == 0)) return;
                fds.reserve(fds.size() + 1);
                const int fd = ::dup(seg.fd);
                if (fd < 0) throw std::bad_alloc();
                fds.push_back(fd);
                seg.unsynced = false;
            };
            for (Segment& seg : impl_->sealed) take(seg);
            take(impl_->current);
        } catch (...) {
            ok = false;  // out of memory or descriptors: what was taken is synced all the same
        }
    }
    for (const int fd : fds) {
        ok = ::fdatasync(fd) == 0 && ok;
        ::close(fd);
    }
    const int dir_fd = ::open(impl_->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ok = ::fsync(dir_fd) == 0 && ok;
        ::close(dir_fd);
    }
    return ok;
}

void SpoolFallback::detach(FallbackLossListener& listener) noexcept {
    std::lock_guard lock(impl_->mutex);
    auto forget = [&listener](std::vector<Entry>& entries) {
        for (Entry& e : entries) {
            if (e.listener == &listener) e.listener = nullptr;
        }
    };
    forget(impl_->current.entries);
    for (Segment& s : impl_->sealed) forget(s.entries);
}

const std::filesystem::path& SpoolFallback::directory() const noexcept { return impl_->dir; }

const SpoolOptions& SpoolFallback::options() const noexcept { return impl_->options; }

SpoolStats SpoolFallback::stats() const {
    std::lock_guard lock(impl_->mutex);
    impl_->apply_settles_locked();
    SpoolStats out = impl_->stats;
    const std::uint64_t gone = out.replayed + out.lost_after_write;
    const std::uint64_t had = out.records + out.found;
    out.held = had > gone ? had - gone : 0;
    return out;
}

// --- the drain's view ---------------------------------------------------------------------

std::vector<SpoolSegmentRef> SpoolFallback::drainable_segments(bool seal_current) {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    if (detail::in_forked_child(s.generation)) s.adopt_fork_locked();
    s.apply_settles_locked();
    // Sealed only for its fallback records: journal copies are settled by their writer.
    if (seal_current && s.current.map != nullptr && !s.current.entries.empty()) s.seal_locked();
    struct Found {
        std::uint64_t sequence;
        std::uint32_t pid;
        SpoolSegmentRef ref;
    };
    std::vector<Found> found;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(s.dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!is_segment_name(name) || it->path() == s.current.path) continue;
        const auto mine = std::find_if(s.sealed.begin(), s.sealed.end(),
                                       [&](const Segment& seg) { return seg.path == it->path(); });
        const bool own = mine != s.sealed.end();
        // One of ours with nothing to replay: journal copies only (settled by this writer), or
        // replayed already and waiting for its copies to settle.
        if (own && (mine->entries.empty() || mine->release_deferred)) continue;
        std::uint32_t pid = 0;
        bool sealed = own;
        if (!own) {
            unsigned char header[sp::segment_header_size] = {};
            const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            const ssize_t n = ::pread(fd, header, sizeof header, 0);
            ::close(fd);
            if (n == static_cast<ssize_t>(sizeof header) &&
                std::memcmp(header, sp::segment_magic.data(), sp::segment_magic.size()) == 0 &&
                sp::get<std::uint32_t>(header + sp::hdr_crc) == detail::crc32c_extend(0, header, sp::hdr_crc)) {
                pid = sp::get<std::uint32_t>(header + sp::hdr_pid);
                sealed = (sp::get<std::uint32_t>(header + sp::hdr_flags) & sp::hdr_flag_sealed) != 0;
            }
            // An unsealed segment of another live process (a forked child writing it): not yet.
            // One of this process is an earlier spool object's (this one's current is excluded).
            const bool writer_gone = pid == 0 || static_cast<pid_t>(pid) == ::getpid() ||
                                     (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
            if (!sealed && !writer_gone) continue;
        }
        found.push_back(Found{parse_sequence(name), pid, SpoolSegmentRef{it->path(), own}});
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        return a.sequence != b.sequence ? a.sequence < b.sequence : a.ref.path < b.ref.path;
    });
    std::vector<SpoolSegmentRef> out;
    out.reserve(found.size());
    for (Found& f : found) out.push_back(std::move(f.ref));
    return out;
}

void SpoolFallback::release_segment(const std::filesystem::path& segment) noexcept {
    Impl& s = *impl_;
    std::lock_guard lock(s.mutex);
    s.apply_settles_locked();
    struct stat st {};
    const bool exists = ::stat(segment.c_str(), &st) == 0;
    for (auto it = s.sealed.begin(); it != s.sealed.end(); ++it) {
        if (it->path == segment) {
            if (it->journal_open > 0) {
                it->release_deferred = true;  // deleted by the settle of its last journal copy
                return;
            }
            ::close(it->fd);
            s.sealed.erase(it);
            if (s.stats.segments > 0) --s.stats.segments;
            break;
        }
    }
    if (exists && ::unlink(segment.c_str()) == 0) {
        s.stats.bytes_on_disk -= std::min<std::uint64_t>(s.stats.bytes_on_disk, static_cast<std::uint64_t>(st.st_size));
    }
}

void SpoolFallback::note_found(std::uint64_t records) noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->stats.found += records;
}

void SpoolFallback::note_replayed(std::uint64_t records) noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->stats.replayed += records;
}

}  // namespace kafka_log
