/*
 * A deliberate data race, built only under EDDY_SANITIZE_THREAD: its ctest
 * passes when ThreadSanitizer reports it, which shows that the TSan stage
 * (scripts/tsan.sh) is live and can fail. Not in tests/c/, whose programs
 * must be race-free.
 */
#include <pthread.h>
#include <stdio.h>

#include "eddy.h"

static int counter;

static void *bump(void *arg) {
    (void)arg;
    counter++; /* races with main's increment: no lock */
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, bump, NULL) != 0) return 2;
    counter++;
    pthread_join(t, NULL);
    /* Linked against the instrumented libeddy like the real tests. */
    printf("eddy %s, counter %d\n", eddy_version_string(), counter);
    return 0;
}
