/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one event loop: epoll over module fds, timerfds and a signalfd. Modules register their
 * own fds (nlbwmon style); callbacks run in the loop thread and must not block.
 */
#ifndef SPIN_LOOP_H
#define SPIN_LOOP_H

#include <stdint.h>

struct loop_watch;
struct loop_timer;

/* events: EPOLLIN / EPOLLOUT bits that fired (or EPOLLERR/EPOLLHUP). */
typedef void (*loop_fd_cb)(int fd, uint32_t events, void *ctx);
typedef void (*loop_timer_cb)(void *ctx);

int loop_init(void);
void loop_destroy(void);

/* Returns a handle or NULL (errno set). events: EPOLLIN and/or EPOLLOUT. */
struct loop_watch *loop_watch_fd(int fd, uint32_t events, loop_fd_cb cb, void *ctx);
int loop_watch_modify(struct loop_watch *w, uint32_t events);
/* Stops watching (does not close the fd). Safe to call from inside any callback; NULL is ok. */
void loop_unwatch(struct loop_watch *w);

/* A periodic timer (CLOCK_MONOTONIC); first expiry after interval_ms. */
struct loop_timer *loop_timer_add(unsigned int interval_ms, loop_timer_cb cb, void *ctx);
/* One-shot variant: fires once after delay_ms, then stays armed-off until loop_timer_arm(). */
struct loop_timer *loop_timer_once(unsigned int delay_ms, loop_timer_cb cb, void *ctx);
int loop_timer_arm(struct loop_timer *t, unsigned int delay_ms);
void loop_timer_del(struct loop_timer *t);

/* SIGINT/SIGTERM end loop_run(); SIGHUP calls hup_cb (may be NULL). Returns 0 or -errno. */
int loop_handle_signals(void (*hup_cb)(void *ctx), void *ctx);

/* Runs until loop_stop() or a terminating signal. Returns 0 or -errno. */
int loop_run(void);
void loop_stop(void);

#endif
