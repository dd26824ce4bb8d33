/*
 * isp-lab-relay: constant-delay Ethernet relay between two interfaces.
 *
 * Usage: isp-lab-relay IF_A IF_B DELAY_US [--rate-kbit K --queue-ms Q]
 *
 * Every frame received on IF_A is transmitted on IF_B (and vice versa)
 * DELAY_US microseconds after it was read.  Because the delay is constant,
 * each direction is a FIFO queue; one CLOCK_MONOTONIC timerfd is armed at the
 * earliest head deadline of the two queues.  Queues are bounded (QUEUE_CAP
 * frames per direction); frames that do not fit are dropped and counted.
 *
 * With --rate-kbit each direction is also a bottleneck link of K kbit/s with
 * a deep tail-drop FIFO in front of it, as a cable/DSL modem or a home
 * router's uplink without AQM: a frame starts its transmission when the one
 * before it has finished (len * 8 / rate later), then takes DELAY_US to
 * arrive.  A frame that would wait more than Q ms in the FIFO is dropped
 * (drop_full).  A bulk TCP flow then keeps the FIFO nearly full: a standing
 * queue of up to Q ms that every other packet on the link waits behind
 * (bufferbloat).  --queue-ms defaults to 200.
 *
 * Used by lab/lab.sh ("delay" subcommand) inside a router namespace, where
 * IF_A/IF_B are veths hidden from the IP stack (see lab/README.md).  Prints
 * "ready" on stdout once both sockets are bound; prints counters on exit.
 * Exits with status 0 on SIGTERM/SIGINT/SIGHUP.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define QUEUE_CAP 65536u          /* frames per direction */
#define RX_BUF_LEN (65536u + 256u) /* larger than any frame a veth can carry */
#define RX_BATCH 256              /* frames read per wakeup per socket */
#define MAX_DELAY_US 60000000ull  /* 60 s */
#define MIN_FRAME_LEN 14u         /* Ethernet header */
#define SOCK_BUF_BYTES (4 * 1024 * 1024)
#define MIN_RATE_KBIT 8ull          /* one 1514-byte frame in 1.5 s */
#define MAX_RATE_KBIT 10000000ull   /* 10 Gbit/s */
#define MAX_QUEUE_MS 10000ull
#define DEFAULT_QUEUE_MS 200ull

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct frame {
    uint64_t due_ns;
    size_t len;
    unsigned char *data;
};

struct queue {
    struct frame *slots; /* ring of QUEUE_CAP */
    uint32_t head;
    uint32_t count;
    uint64_t enqueued;
    uint64_t sent;
    uint64_t drop_full;
    uint64_t drop_tx;
    uint64_t drop_bad;
    uint64_t busy_until_ns; /* with a rate: when the link finishes the last frame queued */
};

struct port {
    const char *name;
    int fd;
};

struct relay {
    struct port port[2];
    struct queue q[2]; /* q[i]: frames read on port[i], sent on port[1 - i] */
    int tfd;
    int epfd;
    uint64_t delay_ns;
    uint64_t rate_bps;       /* 0 = no rate limit */
    uint64_t queue_limit_ns; /* with a rate: the longest a frame may wait in the FIFO */
    uint64_t armed_ns; /* 0 = disarmed */
    unsigned char *rxbuf;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime");
        exit(1);
    }
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A decimal integer in [min, max]; 0 on success, -1 otherwise. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_delay_us(const char *s, uint64_t *out)
{
    return parse_u64(s, 0, MAX_DELAY_US, out);
}

/*
 * When a frame of len bytes read at now leaves the relay; 0 when the rate
 * limit's FIFO is full and the frame must be dropped.  Without a rate it is
 * now + delay; with one, the frame waits for the link to finish the frames
 * queued before it, then takes its own transmission time.
 */
static uint64_t frame_due(struct relay *r, struct queue *q, size_t len, uint64_t now)
{
    uint64_t start, tx_ns;
    if (r->rate_bps == 0)
        return now + r->delay_ns;
    start = q->busy_until_ns > now ? q->busy_until_ns : now;
    if (start - now > r->queue_limit_ns)
        return 0; /* tail drop: the FIFO holds queue_limit_ns of traffic */
    /* len <= RX_BUF_LEN (~64 KiB): len * 8e9 < 2^63, no overflow. */
    tx_ns = ((uint64_t)len * 8ull * 1000000000ull) / r->rate_bps;
    q->busy_until_ns = start + tx_ns;
    return q->busy_until_ns + r->delay_ns;
}

static int open_port(const char *ifname)
{
    struct sockaddr_ll sll;
    unsigned int ifindex;
    int one = 1;
    int bufsz = SOCK_BUF_BYTES;
    int fd;

    if (strlen(ifname) >= IFNAMSIZ) {
        fprintf(stderr, "isp-lab-relay: interface name too long: %s\n", ifname);
        return -1;
    }
    ifindex = if_nametoindex(ifname);
    if (ifindex == 0 || ifindex > INT_MAX) {
        fprintf(stderr, "isp-lab-relay: no such interface %s: %s\n", ifname, strerror(errno));
        return -1;
    }
    /* Protocol 0: receive nothing until bound to the interface. */
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("isp-lab-relay: socket(AF_PACKET)");
        return -1;
    }
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
        perror("isp-lab-relay: PACKET_IGNORE_OUTGOING");
        close(fd);
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof bufsz) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof bufsz) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);

    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        fprintf(stderr, "isp-lab-relay: bind %s: %s\n", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void queue_free(struct queue *q)
{
    if (q->slots == NULL)
        return;
    while (q->count > 0) {
        free(q->slots[q->head].data);
        q->slots[q->head].data = NULL;
        q->head = (q->head + 1) % QUEUE_CAP;
        q->count--;
    }
    free(q->slots);
    q->slots = NULL;
}

static void enqueue(struct queue *q, const unsigned char *data, size_t len, uint64_t due_ns)
{
    struct frame *f;
    unsigned char *copy;

    if (q->count >= QUEUE_CAP) {
        q->drop_full++;
        return;
    }
    copy = malloc(len);
    if (copy == NULL) {
        q->drop_full++;
        return;
    }
    memcpy(copy, data, len);
    f = &q->slots[(q->head + q->count) % QUEUE_CAP];
    f->due_ns = due_ns;
    f->len = len;
    f->data = copy;
    q->count++;
    q->enqueued++;
}

/* Transmit one frame; returns 0 when sent, -1 when dropped. */
static int transmit(int fd, const unsigned char *data, size_t len)
{
    for (;;) {
        ssize_t n = send(fd, data, len, MSG_DONTWAIT);
        if (n >= 0)
            return ((size_t)n == len) ? 0 : -1;
        if (errno == EINTR)
            continue;
        /* EAGAIN/ENOBUFS (peer backlog full), EMSGSIZE, ENETDOWN, ...:
         * behave like a congested link and drop the frame. */
        return -1;
    }
}

/* Send every frame whose deadline has passed. */
static void flush_due(struct relay *r, uint64_t now)
{
    for (int i = 0; i < 2; i++) {
        struct queue *q = &r->q[i];
        int out_fd = r->port[1 - i].fd;
        while (q->count > 0 && q->slots[q->head].due_ns <= now) {
            struct frame *f = &q->slots[q->head];
            if (transmit(out_fd, f->data, f->len) == 0)
                q->sent++;
            else
                q->drop_tx++;
            free(f->data);
            f->data = NULL;
            q->head = (q->head + 1) % QUEUE_CAP;
            q->count--;
        }
    }
}

static uint64_t earliest_due(const struct relay *r)
{
    uint64_t best = 0;
    for (int i = 0; i < 2; i++) {
        const struct queue *q = &r->q[i];
        if (q->count == 0)
            continue;
        uint64_t d = q->slots[q->head].due_ns;
        if (best == 0 || d < best)
            best = d;
    }
    return best;
}

static int arm_timer(struct relay *r, uint64_t due_ns)
{
    struct itimerspec its;
    if (due_ns == r->armed_ns)
        return 0;
    memset(&its, 0, sizeof its);
    if (due_ns != 0) {
        its.it_value.tv_sec = (time_t)(due_ns / 1000000000ull);
        its.it_value.tv_nsec = (long)(due_ns % 1000000000ull);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1; /* zero would disarm */
    }
    if (timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        perror("isp-lab-relay: timerfd_settime");
        return -1;
    }
    r->armed_ns = due_ns;
    return 0;
}

/* Read pending frames from port i into queue i.  Returns -1 on fatal error. */
static int receive(struct relay *r, int i)
{
    struct queue *q = &r->q[i];
    for (int n = 0; n < RX_BATCH; n++) {
        ssize_t len = recv(r->port[i].fd, r->rxbuf, RX_BUF_LEN, MSG_DONTWAIT | MSG_TRUNC);
        if (len < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == ENETDOWN || errno == ENOBUFS)
                return 0; /* transient: interface went down / rx overrun */
            fprintf(stderr, "isp-lab-relay: recv %s: %s\n", r->port[i].name, strerror(errno));
            return -1;
        }
        if ((size_t)len > RX_BUF_LEN || (size_t)len < MIN_FRAME_LEN) {
            q->drop_bad++; /* truncated or runt */
            continue;
        }
        {
            uint64_t due = frame_due(r, q, (size_t)len, now_ns());
            if (due == 0) {
                q->drop_full++;
                continue;
            }
            enqueue(q, r->rxbuf, (size_t)len, due);
        }
    }
    return 0;
}

static void drain_timer(int tfd)
{
    uint64_t expirations;
    for (;;) {
        ssize_t n = read(tfd, &expirations, sizeof expirations);
        if (n == (ssize_t)sizeof expirations)
            return;
        if (n < 0 && errno == EINTR)
            continue;
        return; /* EAGAIN: timer was re-armed before we read it */
    }
}

static int setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    sigset_t block;
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        if (sigaction(sigs[k], &sa, NULL) != 0) {
            perror("isp-lab-relay: sigaction");
            return -1;
        }
        sigaddset(&block, sigs[k]);
    }
    /* Signals are blocked except while waiting in epoll_pwait, so a signal
     * can never slip in between checking the flag and going to sleep. */
    if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0) {
        perror("isp-lab-relay: sigprocmask");
        return -1;
    }
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        sigdelset(wait_mask, sigs[k]);
    return 0;
}

static void print_stats(const struct relay *r)
{
    for (int i = 0; i < 2; i++) {
        const struct queue *q = &r->q[i];
        fprintf(stderr,
                "isp-lab-relay: %s->%s enqueued=%" PRIu64 " sent=%" PRIu64 " drop_full=%" PRIu64
                " drop_tx=%" PRIu64 " drop_bad=%" PRIu64 " pending=%" PRIu32 "\n",
                r->port[i].name, r->port[1 - i].name, q->enqueued, q->sent, q->drop_full,
                q->drop_tx, q->drop_bad, q->count);
    }
}

int main(int argc, char **argv)
{
    struct relay r;
    sigset_t wait_mask;
    uint64_t delay_us = 0;
    uint64_t rate_kbit = 0;
    uint64_t queue_ms = DEFAULT_QUEUE_MS;
    int rc = 1;

    if (argc < 4) {
        fprintf(stderr, "usage: %s IF_A IF_B DELAY_US [--rate-kbit K --queue-ms Q]\n",
                argc > 0 ? argv[0] : "isp-lab-relay");
        return 2;
    }
    if (parse_delay_us(argv[3], &delay_us) != 0) {
        fprintf(stderr, "isp-lab-relay: bad DELAY_US '%s' (0..%llu)\n", argv[3], MAX_DELAY_US);
        return 2;
    }
    for (int k = 4; k < argc; k += 2) {
        if (k + 1 >= argc) {
            fprintf(stderr, "isp-lab-relay: option %s needs a value\n", argv[k]);
            return 2;
        }
        if (strcmp(argv[k], "--rate-kbit") == 0) {
            if (parse_u64(argv[k + 1], MIN_RATE_KBIT, MAX_RATE_KBIT, &rate_kbit) != 0) {
                fprintf(stderr, "isp-lab-relay: bad --rate-kbit '%s' (%llu..%llu)\n", argv[k + 1],
                        MIN_RATE_KBIT, MAX_RATE_KBIT);
                return 2;
            }
        } else if (strcmp(argv[k], "--queue-ms") == 0) {
            if (parse_u64(argv[k + 1], 1, MAX_QUEUE_MS, &queue_ms) != 0) {
                fprintf(stderr, "isp-lab-relay: bad --queue-ms '%s' (1..%llu)\n", argv[k + 1], MAX_QUEUE_MS);
                return 2;
            }
        } else {
            fprintf(stderr, "isp-lab-relay: unknown option '%s' (--rate-kbit K, --queue-ms Q)\n", argv[k]);
            return 2;
        }
    }
    if (strcmp(argv[1], argv[2]) == 0) {
        fprintf(stderr, "isp-lab-relay: IF_A and IF_B must differ\n");
        return 2;
    }

    memset(&r, 0, sizeof r);
    r.port[0].name = argv[1];
    r.port[1].name = argv[2];
    r.port[0].fd = r.port[1].fd = r.tfd = r.epfd = -1;
    r.delay_ns = delay_us * 1000ull;
    r.rate_bps = rate_kbit * 1000ull;
    r.queue_limit_ns = queue_ms * 1000000ull;

    if (setup_signals(&wait_mask) != 0)
        return 1;

    r.rxbuf = malloc(RX_BUF_LEN);
    r.q[0].slots = calloc(QUEUE_CAP, sizeof(struct frame));
    r.q[1].slots = calloc(QUEUE_CAP, sizeof(struct frame));
    if (r.rxbuf == NULL || r.q[0].slots == NULL || r.q[1].slots == NULL) {
        fprintf(stderr, "isp-lab-relay: out of memory\n");
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        r.port[i].fd = open_port(r.port[i].name);
        if (r.port[i].fd < 0)
            goto out;
    }
    r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r.tfd < 0) {
        perror("isp-lab-relay: timerfd_create");
        goto out;
    }
    r.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r.epfd < 0) {
        perror("isp-lab-relay: epoll_create1");
        goto out;
    }
    {
        struct epoll_event ev;
        const int fds[3] = {r.port[0].fd, r.port[1].fd, r.tfd};
        for (int k = 0; k < 3; k++) {
            memset(&ev, 0, sizeof ev);
            ev.events = EPOLLIN;
            ev.data.u32 = (uint32_t)k;
            if (epoll_ctl(r.epfd, EPOLL_CTL_ADD, fds[k], &ev) != 0) {
                perror("isp-lab-relay: epoll_ctl");
                goto out;
            }
        }
    }

    if (rate_kbit > 0)
        printf("ready %s<->%s delay_us=%" PRIu64 " rate_kbit=%" PRIu64 " queue_ms=%" PRIu64 "\n",
               r.port[0].name, r.port[1].name, delay_us, rate_kbit, queue_ms);
    else
        printf("ready %s<->%s delay_us=%" PRIu64 "\n", r.port[0].name, r.port[1].name, delay_us);
    fflush(stdout);

    while (!stop_requested) {
        struct epoll_event evs[8];
        int n = epoll_pwait(r.epfd, evs, 8, -1, &wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("isp-lab-relay: epoll_pwait");
            goto out;
        }
        for (int k = 0; k < n; k++) {
            uint32_t which = evs[k].data.u32;
            if (which == 2) {
                drain_timer(r.tfd);
                r.armed_ns = 0; /* fired (or stale): force re-arm below */
            } else if (which < 2) {
                if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
                    int err = 0;
                    socklen_t el = sizeof err;
                    (void)getsockopt(r.port[which].fd, SOL_SOCKET, SO_ERROR, &err, &el);
                }
                if (receive(&r, (int)which) != 0)
                    goto out;
            }
        }
        flush_due(&r, now_ns());
        if (arm_timer(&r, earliest_due(&r)) != 0)
            goto out;
    }
    rc = 0;

out:
    print_stats(&r);
    for (int i = 0; i < 2; i++) {
        queue_free(&r.q[i]);
        if (r.port[i].fd >= 0)
            close(r.port[i].fd);
    }
    if (r.tfd >= 0)
        close(r.tfd);
    if (r.epfd >= 0)
        close(r.epfd);
    free(r.rxbuf);
    return rc;
}
