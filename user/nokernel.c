// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel boundary of a passive-only build (make PASSIVE_ONLY=1): spind without the BPF
 * data path and without libbpf, for replaying captures and watching mirror ports (the first
 * SPIN's --enable-passive-mode-only). It takes the place of kernel.c and flows.c: every way in
 * answers that there is no kernel data path, so a non-passive start fails with that message.
 */
#include <errno.h>
#include <string.h>

#include "flows.h"
#include "kernel.h"
#include "log.h"

int kernel_open(const struct kernel_opts *opts)
{
	pr_err("this spind was built without the kernel data path (make PASSIVE_ONLY=1): use "
	       "-r FILE to replay a capture or -P -i IF to watch a mirror port");
	return -EOPNOTSUPP;
}

int kernel_attach(void)
{
	return -EOPNOTSUPP;
}

int kernel_set_ifaces(const struct netif_set *now)
{
	return -EOPNOTSUPP;
}

int kernel_detach(const struct netif_set *ifaces, const char *pin_dir, bool unpin)
{
	return kernel_open(NULL);
}

void kernel_close(void)
{
}

int kernel_flows_fd(void)
{
	return -EBADF;
}

int kernel_flows4_fd(void)
{
	return -EBADF;
}

int kernel_cfg_fd(void)
{
	return -EBADF;
}

int kernel_addrpol_fd(void)
{
	return -EBADF;
}

int kernel_pfxpol_fd(void)
{
	return -EBADF;
}

int kernel_pairpol_fd(void)
{
	return -EBADF;
}

int kernel_stats_fd(void)
{
	return -EBADF;
}

int kernel_events_fd(void)
{
	return -EBADF;
}

int kernel_capmac_fd(void)
{
	return -EBADF;
}

unsigned int kernel_max_flows(void)
{
	return 0;
}

int kernel_fc_cpus(void)
{
	return 0;
}

unsigned int kernel_fc_flush_ms(void)
{
	return 0;
}

bool kernel_maps_reused(void)
{
	return false;
}

const struct kernel_iface_state *kernel_iface_state(int *n)
{
	*n = 0;
	return NULL;
}

int kernel_cfg_read(struct spin_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	return -EOPNOTSUPP;
}

int kernel_cfg_write(const struct spin_cfg *cfg)
{
	return -EOPNOTSUPP;
}

int kernel_cfg_set_clock(__u32 now)
{
	return -EOPNOTSUPP;
}

int kernel_addrpol_set(const struct spin_addr *a, __u32 flags)
{
	return -EOPNOTSUPP;
}

int kernel_addrpol_prune(bool (*keep)(const struct spin_addr *a, void *ctx), void *ctx)
{
	return -EOPNOTSUPP;
}

int kernel_pairpol_set(const struct spin_pair_key *k, bool on)
{
	return -EOPNOTSUPP;
}

int kernel_pairpol_clear(void)
{
	return -EOPNOTSUPP;
}

int kernel_macpol_get(const __u8 mac[6], __u32 *flags)
{
	return -EOPNOTSUPP;
}

int kernel_macpol_set(const __u8 mac[6], __u32 flags)
{
	return -EOPNOTSUPP;
}

int kernel_macpol_count(void)
{
	return -EOPNOTSUPP;
}

int kernel_capmac_set(const __u8 mac[6], __u32 streams)
{
	return -EOPNOTSUPP;
}

int kernel_capmac_clear(void)
{
	return -EOPNOTSUPP;
}

int kernel_events_start(int (*on_record)(const void *data, size_t size))
{
	return -EOPNOTSUPP;
}

void kernel_events_stop(void)
{
}

int kernel_read_stats(__u64 *out)
{
	memset(out, 0, SPIN_STAT_MAX * sizeof(*out));
	return -EOPNOTSUPP;
}

/* --- no flow maps to sweep: the capture module keeps its own table --- */

static const struct flows_stats no_flows;

int flows_init(int map_fd, int map4_fd, unsigned int idle_s, bool baseline)
{
	return -EOPNOTSUPP;
}

/* No kernel flows: MACs come from the capture itself. */
void flows_set_mac_cb(flows_mac_cb cb, void *ctx)
{
}

int flows_sweep(uint32_t now, flows_delta_cb cb, void *ctx)
{
	return -EOPNOTSUPP;
}

const struct flows_stats *flows_get_stats(void)
{
	return &no_flows;
}

int flows_save(const char *path)
{
	return -EOPNOTSUPP;
}

int flows_load(const char *path)
{
	return -EOPNOTSUPP;
}

void flows_destroy(void)
{
}
