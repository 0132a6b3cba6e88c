// SPDX-License-Identifier: Apache-2.0
// metrics_endpoint: a Kafka sink from a settings file, named `app`, and its counters served as
// Prometheus metrics on http://127.0.0.1:PORT/metrics (Boost.Beast).
//
//   metrics_endpoint [--port N] [--records N] [--serve-seconds S] [--self-test]
//
// --port 0 (the default) picks a free port; the address is printed. The program logs through
// the sink to an in-process EmbeddedCluster. Without --self-test it serves (and logs a record
// every 100 ms) for --serve-seconds (0: until killed); try `curl 127.0.0.1:PORT/metrics`.
// With --self-test it scrapes itself once over a plain socket, checks that the scraped
// counters equal the writer's and balance, and exits (0: all good).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/log/utility/setup/from_stream.hpp>

#include <kafka_log/boost_log/level_registry.hpp>
#include <kafka_log/boost_log/settings_factory.hpp>
#include <kafka_log/prometheus.hpp>
#include <kafka_log/testing/embedded_cluster.hpp>
#include <kafka_log/testing/topic_reader.hpp>
#include <kafka_log/writer_registry.hpp>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using level = boost::log::trivial::severity_level;

/// Serves GET /metrics, one request per connection, until stop().
class MetricsServer {
public:
    explicit MetricsServer(unsigned short port)
        : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {
        thread_ = std::thread([this] { run(); });
    }
    ~MetricsServer() { stop(); }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    void stop() {
        if (!thread_.joinable()) return;
        stopping_ = true;
        // Wake the blocking accept with one last connection.
        tcp::socket wake(io_);
        boost::system::error_code ignored;
        wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ignored);
        thread_.join();
    }

private:
    void run() {
        while (!stopping_) {
            tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) continue;
            serve(socket);
        }
    }

    static void serve(tcp::socket& socket) {
        boost::system::error_code ec;
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::read(socket, buffer, request, ec);
        if (ec) return;
        http::response<http::string_body> response;
        response.version(request.version());
        response.keep_alive(false);
        if (request.method() == http::verb::get && request.target() == "/metrics") {
            response.result(http::status::ok);
            response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            try {
                response.body() = kafka_log::prometheus_text(
                    kafka_log::registered_writer_metrics(),
                    {.prefix = "kafka_log", .labels = {{"service", "metrics_endpoint"}}});
            } catch (const std::exception& e) {
                response.result(http::status::internal_server_error);
                response.body() = std::string(e.what()) + "\n";
            }
        } else {
            response.result(http::status::not_found);
            response.set(http::field::content_type, "text/plain");
            response.body() = "only GET /metrics here\n";
        }
        response.prepare_payload();
        http::write(socket, response, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// One HTTP GET over a plain socket on 127.0.0.1; the whole response (the server closes).
std::string http_get(unsigned short port, const std::string& target) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return {};
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        const std::string request =
            "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
            char chunk[4096];
            ssize_t n = 0;
            while ((n = ::read(fd, chunk, sizeof chunk)) > 0)
                response.append(chunk, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return response;
}

/// The samples of writer "app" in a scrape: `name{reason}` -> value (labels other than
/// `reason` dropped; the fallback family summed into `records_fallback_total`).
std::map<std::string, double> app_samples(const std::string& body) {
    std::map<std::string, double> out;
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.find("writer=\"app\"") == std::string::npos) continue;
        const std::size_t brace = line.find('{');
        const std::size_t space = line.rfind(' ');
        if (brace == std::string::npos || space == std::string::npos) continue;
        out[line.substr(0, brace)] += std::strtod(line.c_str() + space + 1, nullptr);
    }
    return out;
}

int self_test(unsigned short port, int records, const std::string& topic) {
    const auto writer = kafka_log::find_writer("app");
    const std::string response = http_get(port, "/metrics");
    const kafka_log::WriterStats stats = writer->stats();  // nothing is logged meanwhile
    const std::size_t body_at = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.1 200", 0) != 0 || body_at == std::string::npos ||
        response.find("version=0.0.4") == std::string::npos) {
        std::cerr << "metrics_endpoint: bad response:\n" << response << "\n";
        return 1;
    }
    auto s = app_samples(response.substr(body_at + 4));
    const auto metric = [&](const char* name) { return s["kafka_log_" + std::string(name)]; };
    const double submitted = metric("records_submitted_total");
    const double delivered = metric("records_delivered_total");
    const double fallback = metric("records_fallback_total");
    const double lost = metric("records_lost_total");
    const double in_flight = metric("records_in_flight");
    std::cout << "scraped: submitted=" << submitted << " delivered=" << delivered
              << " fallback=" << fallback << " lost=" << lost << " in_flight=" << in_flight
              << " statistics=" << metric("client_statistics_total") << "\n";
    bool ok = true;
    const auto check = [&](bool condition, const char* what) {
        if (!condition) std::cerr << "metrics_endpoint: self-test failed: " << what << "\n";
        ok = ok && condition;
    };
    check(submitted == static_cast<double>(stats.submitted), "submitted equals the writer's");
    check(delivered == static_cast<double>(stats.delivered), "delivered equals the writer's");
    check(fallback == static_cast<double>(stats.fallback_total()), "fallback equals the writer's");
    check(lost == static_cast<double>(stats.lost), "lost equals the writer's");
    check(in_flight == static_cast<double>(stats.in_flight), "in_flight equals the writer's");
    check(submitted == delivered + fallback + lost + in_flight, "the identity holds");
    check(submitted == records, "every info record was submitted, the debug ones filtered");
    check(http_get(port, "/other").rfind("HTTP/1.1 404", 0) == 0, "other paths are 404");
    const auto cluster = kafka_log::settings_embedded_cluster();
    check(
        cluster && kafka_log::payloads(cluster->read_all(topic, std::chrono::seconds(30))).size() ==
                       stats.delivered,
        "the topic holds the delivered records");
    std::cout << (ok ? "self-test passed\n" : "self-test FAILED\n");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    unsigned short port = 0;
    int records = 200;
    long serve_seconds = 0;
    bool test = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--port" && has_value) {
            port = static_cast<unsigned short>(std::atoi(argv[++i]));
        } else if (arg == "--records" && has_value) {
            records = std::atoi(argv[++i]);
        } else if (arg == "--serve-seconds" && has_value) {
            serve_seconds = std::atol(argv[++i]);
        } else if (arg == "--self-test") {
            test = true;
        } else {
            std::cerr << "usage: metrics_endpoint [--port N] [--records N] [--serve-seconds S] "
                         "[--self-test]\n";
            return 2;
        }
    }
    const std::string topic = "metrics-demo";
    kafka_log::register_boost_log_factory();
    kafka_log::enable_embedded_brokers();
    std::istringstream settings(
        "[Sinks.App]\nDestination=Kafka\nBrokers=embedded\nTopic=" + topic +
        "\nName=app\nLevel=info\nFormat=\"%Message%\"\nProducer.statistics.interval.ms=1000\n");
    try {
        boost::log::init_from_stream(settings);
    } catch (const std::exception& e) {
        std::cerr << "metrics_endpoint: " << e.what() << "\n";
        return 2;
    }
    boost::log::sources::severity_logger<level> logger;
    for (int i = 0; i < records; ++i) {
        BOOST_LOG_SEV(logger, level::info) << "record " << i;
        BOOST_LOG_SEV(logger, level::debug) << "below Level=info: never submitted";
    }
    boost::log::core::get()->flush();

    int rc = 0;
    {
        MetricsServer server(port);
        std::cout << "metrics: http://127.0.0.1:" << server.port() << "/metrics" << std::endl;
        if (test) {
            rc = self_test(server.port(), records, topic);
        } else {
            const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(serve_seconds);
            for (long n = 0; serve_seconds == 0 || std::chrono::steady_clock::now() < end; ++n) {
                BOOST_LOG_SEV(logger, level::info) << "tick " << n;
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
    }
    boost::log::core::get()->flush();
    boost::log::core::get()->remove_all_sinks();
    return rc;
}
