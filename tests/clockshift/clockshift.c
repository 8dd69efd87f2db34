/* A wall clock a test can move, for a whole process: LD_PRELOAD this library and name a file holding
 * an offset in seconds in TEST_CLOCK_OFFSET_FILE. The process's realtime clock (clock_gettime with
 * CLOCK_REALTIME, gettimeofday, time) then reads the real time plus that offset, read again whenever
 * the file changes, for Python and C code alike, as if the machine's clock had been set wrong or had
 * jumped. The monotonic clock, and sleeping, are left alone, as a real clock jump leaves them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

static double offset(void) {
    static double cached = 0;
    static struct timespec seen = {0, 0};
    const char *path = getenv("TEST_CLOCK_OFFSET_FILE");
    struct stat status;
    if (path == NULL || stat(path, &status) != 0) return cached;
    if (status.st_mtim.tv_sec != seen.tv_sec || status.st_mtim.tv_nsec != seen.tv_nsec) {
        FILE *file = fopen(path, "r");
        double value;
        if (file != NULL) {
            if (fscanf(file, "%lf", &value) == 1) cached = value;
            fclose(file);
        }
        seen = status.st_mtim;
    }
    return cached;
}

static void shift(struct timespec *when) {
    long long nanos = (long long)(offset() * 1e9);
    long long total = (long long)when->tv_nsec + nanos % 1000000000LL;
    when->tv_sec += (time_t)(nanos / 1000000000LL) + (time_t)(total / 1000000000LL);
    when->tv_nsec = total % 1000000000LL;
    if (when->tv_nsec < 0) {
        when->tv_nsec += 1000000000LL;
        when->tv_sec -= 1;
    }
}

int clock_gettime(clockid_t clock, struct timespec *when) {
    static int (*real)(clockid_t, struct timespec *) = NULL;
    if (real == NULL) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int result = real(clock, when);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) shift(when);
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict zone) {
    struct timespec now;
    (void)zone;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) return -1;
    if (tv != NULL) {
        tv->tv_sec = now.tv_sec;
        tv->tv_usec = now.tv_nsec / 1000;
    }
    return 0;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out != NULL) *out = now.tv_sec;
    return now.tv_sec;
}
