// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The event loop: timers, fd watches, removal from inside callbacks, signals, idle CPU. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "check.h"
#include "log.h"
#include "loop.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void stop_cb(void *ctx)
{
	loop_stop();
}

/* Runs the loop for at most ms (a safety net: every test also stops it on success). */
static int run_for(unsigned int ms)
{
	struct loop_timer *guard = loop_timer_once(ms, stop_cb, NULL);
	int ret;

	if (!guard)
		return -errno;
	ret = loop_run();
	loop_timer_del(guard);
	return ret;
}

static int periodic_count;

static void periodic_cb(void *ctx)
{
	if (++periodic_count == 5)
		loop_stop();
}

static void test_periodic(void)
{
	struct loop_timer *t = loop_timer_add(20, periodic_cb, NULL);
	double start = now_ms(), elapsed;

	CHECK(t != NULL, "periodic timer created");
	CHECK_INT(run_for(2000), 0, "loop_run returns 0 after loop_stop");
	elapsed = now_ms() - start;
	CHECK_INT(periodic_count, 5, "periodic timer fired 5 times");
	CHECK(elapsed >= 95 && elapsed < 1000, "5 x 20 ms took 95-1000 ms");
	loop_timer_del(t);
}

static int once_count;

static void once_cb(void *ctx)
{
	once_count++;
}

static void test_once(void)
{
	struct loop_timer *t = loop_timer_once(10, once_cb, NULL);

	CHECK(t != NULL, "one-shot timer created");
	run_for(150);
	CHECK_INT(once_count, 1, "one-shot timer fired exactly once");
	CHECK_INT(loop_timer_arm(t, 0), 0, "one-shot timer re-armed");
	run_for(100);
	CHECK_INT(once_count, 2, "re-armed timer fired once more");
	loop_timer_del(t);
	CHECK(loop_timer_add(0, once_cb, NULL) == NULL && errno == EINVAL,
	      "periodic timer with interval 0 refused");
}

static int self_del_count;

static void self_del_cb(void *ctx)
{
	struct loop_timer **t = ctx;

	self_del_count++;
	loop_timer_del(*t);
	*t = NULL;
}

static void test_timer_self_delete(void)
{
	static struct loop_timer *t;

	t = loop_timer_add(10, self_del_cb, &t);
	run_for(120);
	CHECK_INT(self_del_count, 1, "timer deleted from its own callback fires no more");
}

struct pipe_watch {
	int fds[2];
	struct loop_watch *w;
	struct pipe_watch *other;
	int calls;
	uint32_t events;
};

static void read_cb(int fd, uint32_t events, void *ctx)
{
	struct pipe_watch *p = ctx;
	char buf[16];

	p->calls++;
	p->events = events;
	if (read(fd, buf, sizeof(buf)) < 0)
		return;
	loop_unwatch(p->w);
	p->w = NULL;
	/* The other pipe is readable too and may be in the same batch: it must not run. */
	if (p->other) {
		loop_unwatch(p->other->w);
		p->other->w = NULL;
	}
}

static void test_fd_watch(void)
{
	struct pipe_watch a = {0}, b = {0};

	if (pipe(a.fds) || pipe(b.fds)) {
		CHECK(0, "pipes created");
		return;
	}
	a.other = &b;
	b.other = &a;
	a.w = loop_watch_fd(a.fds[0], EPOLLIN, read_cb, &a);
	b.w = loop_watch_fd(b.fds[0], EPOLLIN, read_cb, &b);
	CHECK(a.w && b.w, "pipe watches created");
	CHECK(write(a.fds[1], "x", 1) == 1 && write(b.fds[1], "y", 1) == 1, "pipes written");
	run_for(100);
	CHECK_INT(a.calls + b.calls, 1,
		  "a watch removed by another callback of the batch stays quiet");
	CHECK((a.calls ? a.events : b.events) & EPOLLIN, "callback saw EPOLLIN");
	CHECK(write(a.fds[1], "x", 1) == 1 && write(b.fds[1], "y", 1) == 1, "pipes written again");
	run_for(60);
	CHECK_INT(a.calls + b.calls, 1, "unwatched fds do not call back");
	loop_unwatch(NULL);
	close(a.fds[0]);
	close(a.fds[1]);
	close(b.fds[0]);
	close(b.fds[1]);
}

static int out_calls;

static void write_cb(int fd, uint32_t events, void *ctx)
{
	struct loop_watch **w = ctx;

	if (events & EPOLLOUT)
		out_calls++;
	loop_watch_modify(*w, EPOLLIN);
	loop_stop();
}

static void test_modify(void)
{
	static struct loop_watch *w;
	int fds[2];

	if (pipe(fds)) {
		CHECK(0, "pipe created");
		return;
	}
	w = loop_watch_fd(fds[1], 0, write_cb, &w);
	CHECK(w != NULL, "watch with no events created");
	run_for(50);
	CHECK_INT(out_calls, 0, "no events requested, none delivered");
	CHECK_INT(loop_watch_modify(w, EPOLLOUT), 0, "watch modified to EPOLLOUT");
	run_for(500);
	CHECK_INT(out_calls, 1, "EPOLLOUT delivered after loop_watch_modify");
	loop_unwatch(w);
	close(fds[0]);
	close(fds[1]);
}

static int hups;

static void hup_cb(void *ctx)
{
	hups++;
}

static void raise_cb(void *ctx)
{
	raise(*(int *)ctx);
}

static void test_signals(void)
{
	static int sig_hup = SIGHUP, sig_term = SIGTERM;
	struct loop_timer *t1, *t2;
	double start = now_ms();
	sigset_t cur;

	CHECK_INT(loop_handle_signals(hup_cb, NULL), 0, "signal handling installed");
	t1 = loop_timer_once(10, raise_cb, &sig_hup);
	t2 = loop_timer_once(40, raise_cb, &sig_term);
	CHECK_INT(run_for(3000), 0, "loop_run returns 0 on SIGTERM");
	CHECK(now_ms() - start < 1000, "SIGTERM ended the loop before the guard timer");
	CHECK_INT(hups, 1, "SIGHUP called hup_cb once and did not stop the loop");
	loop_timer_del(t1);
	loop_timer_del(t2);
	loop_destroy();
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGTERM), "loop_destroy restores the signal mask");
	CHECK_INT(loop_init(), 0, "loop_init after loop_destroy");
}

static void test_idle_cpu(void)
{
	struct loop_timer *t = loop_timer_add(100, once_cb, NULL);
	double cpu = cpu_ms();

	run_for(500);
	cpu = cpu_ms() - cpu;
	printf("# idle loop with a 100 ms timer used %.2f ms CPU in 500 ms\n", cpu);
	CHECK(cpu < 50, "an idle loop does not spin (under 50 ms CPU in 500 ms)");
	loop_timer_del(t);
}

int main(void)
{
	log_init("test_loop", false, LOG_LVL_WARN, NULL);
	CHECK_INT(loop_run(), -EBADF, "loop_run before loop_init fails");
	CHECK_INT(loop_init(), 0, "loop_init");
	test_periodic();
	test_once();
	test_timer_self_delete();
	test_fd_watch();
	test_modify();
	test_idle_cpu();
	test_signals();
	loop_destroy();
	loop_destroy(); /* twice: must be harmless (ASan watches) */
	return check_exit();
}
