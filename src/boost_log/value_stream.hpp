// SPDX-License-Identifier: Apache-2.0
#pragma once

// A reusable std::ostream for values written through their operator<<.

#include <ios>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#include <boost/log/attributes/attribute_value.hpp>

#include "kafka_log/boost_log/json_formatter.hpp"

namespace kafka_log::detail {

/// \brief The stream a thread renders registered types through, reused from value to value: no
/// ostringstream (an allocation and the global locale's reference count) per value. Before
/// each value its state is reset to a fresh stream's, so what one operator<< sets (hex,
/// precision, width, fill, a locale) does not leak into the next value.
///
/// Thread safety: one thread (a formatter keeps one per thread).
class ValueStream {
public:
    ValueStream();
    ValueStream(const ValueStream&) = delete;
    ValueStream& operator=(const ValueStream&) = delete;

    /// Renders `value` with `renderer` into the reused buffer: true with the text in text(),
    /// false when the renderer declined the value. Not reentrant (busy()): a renderer that
    /// logs, and so formats, on this thread must be served by a stream of its own.
    bool render(JsonStreamRenderer renderer, const boost::log::attribute_value& value);

    std::string_view text() const noexcept { return buffer_.text; }
    bool busy() const noexcept { return busy_; }

private:
    /// A stream buffer that appends to a string whose capacity it keeps between values.
    class AppendBuffer final : public std::streambuf {
    public:
        std::string text;

    protected:
        int_type overflow(int_type c) override;
        std::streamsize xsputn(const char* s, std::streamsize n) override;
    };

    static int imbued_index();
    static void on_event(std::ios_base::event event, std::ios_base& stream, int index);

    AppendBuffer buffer_;
    std::ostream os_;
    std::ios_base::fmtflags default_flags_{};
    bool busy_ = false;
};

}  // namespace kafka_log::detail
