// SPDX-License-Identifier: Apache-2.0
// A producer asked for SASL/GSSAPI, built with kafka_log::no_gssapi instead of libsasl2: its
// connection to a listening socket on 127.0.0.1 must fail with the stub's message. Exit 0 when
// it does within 30 s; 1 otherwise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

namespace {
std::mutex mutex;
std::condition_variable seen_cv;
bool seen = false;
std::string first_error;

void on_error(rd_kafka_t*, int, const char* reason, void*) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (first_error.empty()) first_error = reason;
    if (std::string(reason).find("SASL/GSSAPI is not available") != std::string::npos) {
        seen = true;
        seen_cv.notify_all();
    }
}

bool set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
    char error[256];
    if (rd_kafka_conf_set(conf, key, value.c_str(), error, sizeof error) == RD_KAFKA_CONF_OK)
        return true;
    std::fprintf(stderr, "no_gssapi_probe: %s: %s\n", key, error);
    return false;
}
}  // namespace

int main() {
    // A listener that accepts and stays silent: the client connects, then starts SASL.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener, 8) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        std::perror("no_gssapi_probe: listening socket on 127.0.0.1");
        return 1;
    }
    const std::string bootstrap = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_error_cb(conf, on_error);
    // No ApiVersion/SaslHandshake round trip (the listener never answers): SASL right away.
    if (!set(conf, "bootstrap.servers", bootstrap) ||
        !set(conf, "security.protocol", "sasl_plaintext") ||
        !set(conf, "sasl.mechanisms", "GSSAPI") || !set(conf, "api.version.request", "false") ||
        !set(conf, "broker.version.fallback", "0.9.0") ||
        !set(conf, "sasl.kerberos.min.time.before.relogin", "0")) {
        return 1;
    }
    char error[256];
    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (producer == nullptr) {
        std::fprintf(stderr, "no_gssapi_probe: rd_kafka_new: %s\n", error);
        return 1;
    }
    rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("probe"),
                      RD_KAFKA_V_VALUE(const_cast<char*>("x"), 1),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool found = false;
    while (!found && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_poll(producer, 100);  // serves the error callback
        std::unique_lock<std::mutex> lock(mutex);
        found = seen_cv.wait_until(
            lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(100),
            [] { return seen; });
    }
    rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(producer);
    ::close(listener);
    if (!found) {
        std::fprintf(stderr,
                     "no_gssapi_probe: no GSSAPI failure from the stub within 30 s "
                     "(first error: %s)\n",
                     first_error.c_str());
        return 1;
    }
    std::printf("no_gssapi_probe: GSSAPI refused by the stub, as built: %s\n", first_error.c_str());
    return 0;
}
