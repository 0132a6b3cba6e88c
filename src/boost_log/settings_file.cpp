// SPDX-License-Identifier: Apache-2.0
#include "kafka_log/boost_log/settings_file.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/log/exceptions.hpp>
#include <boost/log/utility/setup/from_stream.hpp>

#include "kafka_log/producer_config.hpp"

namespace kafka_log {

namespace {

// The character classes of Boost.Log 1.74's settings parser (src/setup/parser_utils.cpp and
// settings_parser.cpp), which uses the <cctype> functions of the C locale.
bool space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool word(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '+' ||
           c == '.';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

/// The Kafka sink's parameters whose value is a list of names (settings_factory.cpp).
bool takes_a_list(std::string_view name) {
    return name == "Headers";
}

/// True when `value` is a list of two or more words (letters, digits, '_', '-', '+', '.')
/// separated by commas, blanks around them allowed (`TraceID,Service`, `TraceID, Service`).
bool word_list(std::string_view value) {
    std::size_t parts = 0;
    for (;;) {
        const std::size_t comma = std::min(value.find(','), value.size());
        const std::string_view part = trim(value.substr(0, comma));
        if (part.empty()) return false;
        for (char c : part) {
            if (!word(c)) return false;
        }
        ++parts;
        if (comma == value.size()) return parts >= 2;
        value.remove_prefix(comma + 1);
    }
}

/// Reads one settings text, keeping the section and the parameters seen in each. With
/// `lists`, an unquoted comma-separated list of words is taken for a parameter that takes a
/// list, and written quoted into the text Boost's parser reads (`normalized`).
class Checker {
public:
    Checker(std::string source, bool lists) : source_(std::move(source)), lists_(lists) {}

    void line(std::string_view text, unsigned number) {
        number_ = number;
        rewritten_.clear();
        const std::string_view rest = trim(text);
        if (!rest.empty() && rest.front() != '#') {
            if (rest.front() == '[') {
                section(rest);
            } else {
                parameter(rest);
            }
        }
        normalized_ += rewritten_.empty() ? text : std::string_view(rewritten_);
        normalized_ += '\n';
    }

    /// The text as Boost's parser is to read it.
    const std::string& normalized() const noexcept { return normalized_; }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw boost::log::parse_error(prefix() + what);
    }

    std::string prefix() const { return source_ + ":" + std::to_string(number_) + ": "; }

    std::string in_section() const { return " in [" + section_ + "]"; }

    void section(std::string_view rest) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) fail("section header without ']'");
        const std::string_view name = trim(rest.substr(1, close - 1));
        if (name.empty()) fail("empty section name");
        for (char c : name) {
            if (c != '.' && std::isalnum(static_cast<unsigned char>(c)) == 0) {
                fail("section name [" + std::string(name) +
                     "] may hold only letters, digits and '.'");
            }
        }
        const std::string_view after = trim(rest.substr(close + 1));
        if (!after.empty() && after.front() != '#')
            fail("unexpected text after the section header [" + std::string(name) + "]");
        section_ = name;
    }

    void parameter(std::string_view rest) {
        const auto eq = rest.find('=');
        if (eq == std::string_view::npos)
            fail("a parameter line needs '=' (Name=value), or '#' to be a comment");
        const std::string name(trim(rest.substr(0, eq)));
        if (section_.empty()) fail("parameter '" + name + "' before any [Section] header");
        if (name.empty()) fail("a parameter without a name" + in_section());
        if (std::isalpha(static_cast<unsigned char>(name.front())) == 0)
            fail("parameter name '" + name + "'" + in_section() + " must start with a letter");
        for (char c : name) {
            if (std::isgraph(static_cast<unsigned char>(c)) == 0)
                fail("parameter name '" + name + "'" + in_section() +
                     " has a space or a control "
                     "character");
        }
        const std::string what = "parameter '" + name + "'" + in_section();
        const std::string_view value = trim(rest.substr(eq + 1));
        if (value.empty() || value.front() == '#')
            fail(what + " has no value (an empty value is written \"\")");

        std::string_view after;
        if (value.front() == '"') {
            std::size_t i = 1;
            for (; i < value.size() && value[i] != '"'; ++i) {
                if (value[i] == '\\' && ++i == value.size())
                    fail(what +
                         ": the quoted value ends in a lone '\\' (in quotes, '\\' starts "
                         "an escape: write '\\\\' for a backslash)");
            }
            if (i >= value.size())
                fail(what +
                     ": the quoted value has no closing '\"' (a '\"' inside quotes is "
                     "written '\\\"')");
            after = trim(value.substr(i + 1));
            if (!after.empty() && after.front() != '#')
                fail(what + ": unexpected text after the closing quote ('#' starts a comment)");
        } else {
            std::size_t i = 1;
            while (i < value.size() && word(value[i])) ++i;
            after = trim(value.substr(i));
            if (!after.empty() && after.front() != '#') {
                const std::string_view list = without_comment(value);
                if (!lists_ || !takes_a_list(name) || !word_list(list))
                    unquoted(what, name, value, i);
                rewritten_ = name + "=\"" + std::string(list) + "\"";
            }
        }
        remember(name);
    }

    /// `value` up to a comment (" #") or the end of the line.
    static std::string_view without_comment(std::string_view value) {
        for (std::size_t i = 1; i < value.size(); ++i) {
            if (value[i] == '#' && space(value[i - 1])) return trim(value.substr(0, i));
        }
        return value;
    }

    /// A value Boost's parser would cut at `stop`, leaving "Unexpected characters in the end of
    /// the line".
    [[noreturn]] void unquoted(const std::string& what, const std::string& name,
                               std::string_view value, std::size_t stop) const {
        const std::string_view meant = without_comment(value);  // what was meant
        std::string message = what + ": the value must be quoted: unquoted, a value is one word " +
                              "of letters, digits, '_', '-', '+' and '.', and '" +
                              std::string(1, value[stop]) + "' ends it";
        const bool secret = name.rfind("Producer.", 0) == 0 &&
                            ProducerConfig::is_secret(std::string_view(name).substr(9));
        if (secret) {
            message += "; write " + name + "=\"...\"";
        } else {
            std::string quoted;
            for (char c : meant) {
                if (c == '"' || c == '\\') quoted += '\\';
                quoted += c;
            }
            message += "; write " + name + "=\"" + quoted + "\"";
        }
        fail(message);
    }

    void remember(const std::string& name) {
        const auto [at, fresh] = seen_[section_].emplace(name, number_);
        if (!fresh) {
            throw boost::log::invalid_value(prefix() + "parameter '" + name + "'" + in_section() +
                                            " is given twice (lines " + std::to_string(at->second) +
                                            " and " + std::to_string(number_) +
                                            "); Boost.Log would keep only the last value");
        }
    }

    std::string source_;
    bool lists_;
    std::string normalized_;
    std::string rewritten_;  // this line, as Boost's parser is to read it; empty: unchanged
    unsigned number_ = 0;
    std::string section_;
    std::map<std::string, std::map<std::string, unsigned>> seen_;  // section -> name -> line
};

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in && in.peek() == std::char_traits<char>::eof() && !in.bad()) return {};  // empty
    if (!in || !(text << in.rdbuf()) || in.bad()) {
        throw boost::log::invalid_value("kafka_log: cannot read the settings file '" +
                                        path.string() + "'");
    }
    return text.str();
}

}  // namespace

namespace {

/// Checks `text`; returns it as Boost's parser is to read it.
std::string checked(std::istream& text, const std::string& source, bool lists) {
    Checker checker(source, lists);
    std::string line;
    for (unsigned number = 1; std::getline(text, line); ++number) checker.line(line, number);
    return checker.normalized();
}

}  // namespace

void check_settings(std::istream& text, const std::string& source) {
    static_cast<void>(checked(text, source, false));
}

void check_settings_file(const std::filesystem::path& path) {
    std::istringstream text(read_file(path));
    static_cast<void>(checked(text, path.string(), true));
}

void init_from_settings_file(const std::filesystem::path& path) {
    std::istringstream text(read_file(path));
    std::istringstream in(checked(text, path.string(), true));
    const std::string name = path.string() + ": ";
    try {
        boost::log::init_from_stream(in);
    } catch (const boost::log::missing_value& e) {
        throw boost::log::missing_value(name + e.what());
    } catch (const boost::log::invalid_value& e) {
        throw boost::log::invalid_value(name + e.what());
    } catch (const boost::log::parse_error& e) {
        throw boost::log::parse_error(name + e.what());
    }
}

}  // namespace kafka_log
