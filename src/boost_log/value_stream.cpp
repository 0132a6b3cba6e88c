// SPDX-License-Identifier: Apache-2.0
#include "value_stream.hpp"

#include <locale>

namespace kafka_log::detail {

ValueStream::AppendBuffer::int_type ValueStream::AppendBuffer::overflow(int_type c) {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
        text.push_back(traits_type::to_char_type(c));
    }
    return traits_type::not_eof(c);
}

std::streamsize ValueStream::AppendBuffer::xsputn(const char* s, std::streamsize n) {
    text.append(s, static_cast<std::size_t>(n));
    return n;
}

ValueStream::ValueStream() : os_(&buffer_) {
    os_.register_callback(&ValueStream::on_event, imbued_index());
    default_flags_ = os_.flags();
}

bool ValueStream::render(JsonStreamRenderer renderer, const boost::log::attribute_value& value) {
    busy_ = true;
    struct Release {
        bool& busy;
        ~Release() { busy = false; }
    } release{busy_};
    buffer_.text.clear();
    os_.exceptions(std::ios_base::goodbit);
    os_.clear();
    os_.flags(default_flags_);
    os_.precision(6);
    os_.width(0);
    os_.fill(' ');
    if (os_.iword(imbued_index()) != 0) {
        os_.imbue(std::locale());
        os_.iword(imbued_index()) = 0;
    }
    return renderer(value, os_);
}

int ValueStream::imbued_index() {
    static const int index = std::ios_base::xalloc();
    return index;
}

void ValueStream::on_event(std::ios_base::event event, std::ios_base& stream, int index) {
    if (event == std::ios_base::imbue_event) stream.iword(index) = 1;
}

}  // namespace kafka_log::detail
