// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The event loop: one epoll instance; every timer is a timerfd and signals arrive through a
 * signalfd, so epoll_wait() is the only place the daemon sleeps and it never spins.
 *
 * Handles removed while a batch of events is being dispatched may still be referenced by later
 * events of the same batch, so removal only marks them dead and unlinks them from epoll; the
 * memory is released after the batch (or at loop_destroy()).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "log.h"
#include "loop.h"

#define LOOP_MAX_EVENTS 32

enum src_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

/* The common head of every source; epoll's data.ptr points at it. */
struct loop_src {
	enum src_kind kind;
	bool dead;
	int fd;
	struct loop_src *next; /* all live sources, or the graveyard once dead */
};

struct loop_watch {
	struct loop_src src;
	loop_fd_cb cb;
	void *ctx;
};

struct loop_timer {
	struct loop_src src;
	loop_timer_cb cb;
	void *ctx;
	unsigned int interval_ms; /* 0: one-shot */
};

struct loop_signals {
	struct loop_src src;
	void (*hup_cb)(void *ctx);
	void *ctx;
	sigset_t old_mask;
};

static struct {
	int epfd;
	bool stop;
	struct loop_src *live;
	struct loop_src *graveyard;
	struct loop_signals *signals;
} loop = {.epfd = -1};

int loop_init(void)
{
	if (loop.epfd >= 0)
		return 0;
	loop.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop.epfd < 0)
		return -errno;
	loop.stop = false;
	return 0;
}

static void src_link(struct loop_src *s)
{
	s->next = loop.live;
	loop.live = s;
}

/* Moves a source from the live list to the graveyard, leaving epoll. */
static void src_kill(struct loop_src *s, bool close_fd)
{
	struct loop_src **pp;

	if (!s || s->dead)
		return;
	for (pp = &loop.live; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (loop.epfd >= 0 && s->fd >= 0)
		epoll_ctl(loop.epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if (close_fd && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->dead = true;
	s->next = loop.graveyard;
	loop.graveyard = s;
}

static void free_graveyard(void)
{
	struct loop_src *s, *next;

	for (s = loop.graveyard; s; s = next) {
		next = s->next;
		free(s);
	}
	loop.graveyard = NULL;
}

static void signals_restore(void)
{
	if (loop.signals)
		sigprocmask(SIG_SETMASK, &loop.signals->old_mask, NULL);
	loop.signals = NULL;
}

void loop_destroy(void)
{
	while (loop.live) {
		struct loop_src *s = loop.live;

		/* fd watches do not own their fd; timers and the signalfd do. */
		src_kill(s, s->kind != SRC_FD);
	}
	signals_restore();
	free_graveyard();
	if (loop.epfd >= 0)
		close(loop.epfd);
	loop.epfd = -1;
	loop.stop = false;
}

static int src_add(struct loop_src *s, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	if (loop.epfd < 0)
		return -EBADF;
	if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	src_link(s);
	return 0;
}

struct loop_watch *loop_watch_fd(int fd, uint32_t events, loop_fd_cb cb, void *ctx)
{
	struct loop_watch *w;
	int err;

	if (fd < 0 || !cb) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->src.kind = SRC_FD;
	w->src.fd = fd;
	w->cb = cb;
	w->ctx = ctx;
	err = src_add(&w->src, events);
	if (err) {
		free(w);
		errno = -err;
		return NULL;
	}
	return w;
}

int loop_watch_modify(struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (!w || w->src.dead)
		return -EINVAL;
	ev.data.ptr = &w->src;
	if (epoll_ctl(loop.epfd, EPOLL_CTL_MOD, w->src.fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_unwatch(struct loop_watch *w)
{
	if (w)
		src_kill(&w->src, false);
}

static int timer_set(int fd, unsigned int delay_ms, unsigned int interval_ms)
{
	struct itimerspec its = {
		.it_value = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000},
		.it_interval = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000},
	};

	/* A zero it_value would disarm the timer; "now" means the next loop iteration. */
	if (!delay_ms)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

static struct loop_timer *timer_new(unsigned int delay_ms, unsigned int interval_ms,
				    loop_timer_cb cb, void *ctx)
{
	struct loop_timer *t;
	int err;

	if (!cb) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->src.kind = SRC_TIMER;
	t->cb = cb;
	t->ctx = ctx;
	t->interval_ms = interval_ms;
	t->src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->src.fd < 0) {
		err = -errno;
		goto fail;
	}
	err = timer_set(t->src.fd, delay_ms, interval_ms);
	if (!err)
		err = src_add(&t->src, EPOLLIN);
	if (err)
		goto fail;
	return t;
fail:
	if (t->src.fd >= 0)
		close(t->src.fd);
	free(t);
	errno = -err;
	return NULL;
}

struct loop_timer *loop_timer_add(unsigned int interval_ms, loop_timer_cb cb, void *ctx)
{
	if (!interval_ms) {
		errno = EINVAL;
		return NULL;
	}
	return timer_new(interval_ms, interval_ms, cb, ctx);
}

struct loop_timer *loop_timer_once(unsigned int delay_ms, loop_timer_cb cb, void *ctx)
{
	return timer_new(delay_ms, 0, cb, ctx);
}

int loop_timer_arm(struct loop_timer *t, unsigned int delay_ms)
{
	if (!t || t->src.dead)
		return -EINVAL;
	return timer_set(t->src.fd, delay_ms, t->interval_ms);
}

void loop_timer_del(struct loop_timer *t)
{
	if (t)
		src_kill(&t->src, true);
}

int loop_handle_signals(void (*hup_cb)(void *ctx), void *ctx)
{
	struct loop_signals *s;
	sigset_t mask;
	int err;

	if (loop.signals) {
		loop.signals->hup_cb = hup_cb;
		loop.signals->ctx = ctx;
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->src.kind = SRC_SIGNAL;
	s->hup_cb = hup_cb;
	s->ctx = ctx;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	/* Blocked, so they are only ever seen through the signalfd (no async handlers). */
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask) < 0) {
		err = -errno;
		free(s);
		return err;
	}
	s->src.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->src.fd < 0) {
		err = -errno;
		goto fail;
	}
	err = src_add(&s->src, EPOLLIN);
	if (err)
		goto fail;
	loop.signals = s;
	return 0;
fail:
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	if (s->src.fd >= 0)
		close(s->src.fd);
	free(s);
	return err;
}

static void dispatch_signal(struct loop_signals *s)
{
	struct signalfd_siginfo si;

	while (read(s->src.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (s->hup_cb)
				s->hup_cb(s->ctx);
			continue;
		}
		pr_info("signal %u received, stopping", si.ssi_signo);
		loop.stop = true;
	}
}

static void dispatch_timer(struct loop_timer *t)
{
	uint64_t expirations;

	/* Missed expirations collapse into one call: callbacks look at the clock themselves. */
	if (read(t->src.fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	t->cb(t->ctx);
}

static void dispatch(struct loop_src *s, uint32_t events)
{
	if (s->dead)
		return;
	switch (s->kind) {
	case SRC_FD: {
		struct loop_watch *w = (struct loop_watch *)s;

		w->cb(s->fd, events, w->ctx);
		break;
	}
	case SRC_TIMER:
		dispatch_timer((struct loop_timer *)s);
		break;
	case SRC_SIGNAL:
		dispatch_signal((struct loop_signals *)s);
		break;
	}
}

int loop_run(void)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	int n, i;

	if (loop.epfd < 0)
		return -EBADF;
	loop.stop = false;
	while (!loop.stop) {
		n = epoll_wait(loop.epfd, events, LOOP_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n && !loop.stop; i++)
			dispatch(events[i].data.ptr, events[i].events);
		free_graveyard();
	}
	loop.stop = false;
	return 0;
}

void loop_stop(void)
{
	loop.stop = true;
}
