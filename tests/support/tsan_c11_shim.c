/* SPDX-License-Identifier: Apache-2.0 */
/* ThreadSanitizer builds only. librdkafka uses glibc's C11 threads (thrd_create, mtx_*, cnd_*,
 * call_once), which TSan does not intercept: its threads and locks would be invisible to it,
 * and the first one it meets crashes the runtime. Defining these functions in the test
 * executable makes librdkafka call them instead; they forward to the pthread functions that
 * TSan does intercept. glibc's C11 types have the layout of the pthread ones they wrap.
 *
 * Only librdkafka calls these functions (kafka_log uses C++ threads and locks), so every
 * mtx_t and cnd_t they see is librdkafka's. TSan takes each lock and signal as
 * synchronization, which is what makes librdkafka's hand-overs to our callbacks visible; it
 * would also count the bytes of the mtx_t itself as memory accessed, and librdkafka publishes
 * a new object holding a mutex through its own atomics (reference counts, compiled without
 * TSan), so the first lock on another thread would be reported as racing with mtx_init.
 * Those accesses to librdkafka's lock objects are left out (shim_enter/shim_leave); the
 * synchronization they carry is not. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>

void __tsan_ignore_thread_begin(void); /* libtsan: memory accesses of this thread ignored, */
void __tsan_ignore_thread_end(void);   /* synchronization still seen */

static void shim_enter(void) {
    __tsan_ignore_thread_begin();
}
static int shim_leave(int err) {
    __tsan_ignore_thread_end();
    return err;
}

struct shim_start {
    thrd_start_t func;
    void* arg;
};

static void* shim_trampoline(void* p) {
    struct shim_start start = *(struct shim_start*)p;
    free(p);
    return (void*)(intptr_t)start.func(start.arg);
}

static int shim_result(int err) {
    switch (err) {
        case 0:
            return thrd_success;
        case EBUSY:
            return thrd_busy;
        case ETIMEDOUT:
            return thrd_timedout;
        case ENOMEM:
            return thrd_nomem;
        default:
            return thrd_error;
    }
}

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
    struct shim_start* start = malloc(sizeof *start);
    if (start == NULL) return thrd_nomem;
    start->func = func;
    start->arg = arg;
    const int err = pthread_create((pthread_t*)thr, NULL, shim_trampoline, start);
    if (err != 0) free(start);
    return shim_result(err);
}

int thrd_join(thrd_t thr, int* res) {
    void* ret = NULL;
    const int err = pthread_join((pthread_t)thr, &ret);
    if (err == 0 && res != NULL) *res = (int)(intptr_t)ret;
    return shim_result(err);
}

int thrd_detach(thrd_t thr) {
    return shim_result(pthread_detach((pthread_t)thr));
}

int mtx_init(mtx_t* m, int type) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    shim_enter();
    const int err = shim_leave(pthread_mutex_init((pthread_mutex_t*)m, &attr));
    pthread_mutexattr_destroy(&attr);
    return shim_result(err);
}
int mtx_lock(mtx_t* m) {
    shim_enter();
    return shim_result(shim_leave(pthread_mutex_lock((pthread_mutex_t*)m)));
}
int mtx_trylock(mtx_t* m) {
    shim_enter();
    return shim_result(shim_leave(pthread_mutex_trylock((pthread_mutex_t*)m)));
}
int mtx_timedlock(mtx_t* restrict m, const struct timespec* restrict t) {
    shim_enter();
    return shim_result(shim_leave(pthread_mutex_timedlock((pthread_mutex_t*)m, t)));
}
int mtx_unlock(mtx_t* m) {
    shim_enter();
    return shim_result(shim_leave(pthread_mutex_unlock((pthread_mutex_t*)m)));
}
void mtx_destroy(mtx_t* m) {
    shim_enter();
    shim_leave(pthread_mutex_destroy((pthread_mutex_t*)m));
}

int cnd_init(cnd_t* c) {
    shim_enter();
    return shim_result(shim_leave(pthread_cond_init((pthread_cond_t*)c, NULL)));
}
int cnd_signal(cnd_t* c) {
    shim_enter();
    return shim_result(shim_leave(pthread_cond_signal((pthread_cond_t*)c)));
}
int cnd_broadcast(cnd_t* c) {
    shim_enter();
    return shim_result(shim_leave(pthread_cond_broadcast((pthread_cond_t*)c)));
}
int cnd_wait(cnd_t* c, mtx_t* m) {
    shim_enter();
    return shim_result(shim_leave(pthread_cond_wait((pthread_cond_t*)c, (pthread_mutex_t*)m)));
}
int cnd_timedwait(cnd_t* restrict c, mtx_t* restrict m, const struct timespec* restrict t) {
    shim_enter();
    return shim_result(
        shim_leave(pthread_cond_timedwait((pthread_cond_t*)c, (pthread_mutex_t*)m, t)));
}
void cnd_destroy(cnd_t* c) {
    shim_enter();
    shim_leave(pthread_cond_destroy((pthread_cond_t*)c));
}

void call_once(once_flag* flag, void (*func)(void)) {
    pthread_once((pthread_once_t*)flag, func);
}
