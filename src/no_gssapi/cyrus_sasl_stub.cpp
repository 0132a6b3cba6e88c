// SPDX-License-Identifier: Apache-2.0
// kafka_log::no_gssapi: the nine Cyrus SASL functions librdkafka calls (rdkafka_sasl_cyrus.c),
// answering that SASL/GSSAPI is not available, so a program linked with librdkafka's static
// archive needs no libsasl2 (KAFKA_LOG_STATIC_DEPS=ON with KAFKA_LOG_SASL_GSSAPI=OFF; see
// docs/static-linking.md). Only GSSAPI goes through Cyrus in librdkafka: PLAIN, SCRAM and
// OAUTHBEARER are its own and still work. librdkafka calls sasl_client_init() once at start-up
// (succeeds here, doing nothing); a connection with sasl.mechanisms=GSSAPI then fails at
// sasl_client_new() with the message below, through librdkafka's error and log callbacks.
//
// C linkage matches by name only; the parameters mirror <sasl/sasl.h>, whose opaque types are
// only passed through as pointers here.

namespace {
constexpr int sasl_ok = 0;       // SASL_OK
constexpr int sasl_fail = -1;    // SASL_FAIL
constexpr int sasl_nomech = -4;  // SASL_NOMECH
constexpr const char* unavailable =
    "SASL/GSSAPI is not available: this program was built with kafka_log's "
    "KAFKA_LOG_SASL_GSSAPI=OFF (no Cyrus SASL)";
}  // namespace

extern "C" {

int sasl_client_init(const void* /*callbacks*/) {
    return sasl_ok;
}

int sasl_client_new(const char* /*service*/, const char* /*server_fqdn*/,
                    const char* /*ip_local_port*/, const char* /*ip_remote_port*/,
                    const void* /*prompt_supp*/, unsigned /*flags*/, void** connection) {
    if (connection != nullptr) *connection = nullptr;
    return sasl_nomech;
}

int sasl_client_start(void* /*connection*/, const char* /*mechlist*/, void** /*prompt_need*/,
                      const char** /*client_out*/, unsigned* /*client_out_len*/,
                      const char** /*mech*/) {
    return sasl_nomech;
}

int sasl_client_step(void* /*connection*/, const char* /*server_in*/, unsigned /*server_in_len*/,
                     void** /*prompt_need*/, const char** /*client_out*/,
                     unsigned* /*client_out_len*/) {
    return sasl_fail;
}

void sasl_dispose(void** connection) {
    if (connection != nullptr) *connection = nullptr;
}

const char* sasl_errdetail(void* /*connection*/) {
    return unavailable;
}

const char* sasl_errstring(int /*error*/, const char* /*langlist*/, const char** out_lang) {
    if (out_lang != nullptr) *out_lang = "en-us";
    return unavailable;
}

int sasl_getprop(void* /*connection*/, int /*property*/, const void** value) {
    if (value != nullptr) *value = nullptr;
    return sasl_fail;
}

int sasl_listmech(void* /*connection*/, const char* /*user*/, const char* /*prefix*/,
                  const char* /*separator*/, const char* /*suffix*/, const char** result,
                  unsigned* length, int* count) {
    if (result != nullptr) *result = "";
    if (length != nullptr) *length = 0;
    if (count != nullptr) *count = 0;
    return sasl_ok;
}

}  // extern "C"
