// fakecam: an LD_PRELOAD library that emulates a V4L2 UVC-style camera, for tests only.
//
// Why: CI machines have no V4L2 kernel support (no vivid, no v4l2loopback, no CUSE), but we
// want the real libv4l2 code path exercised. libv4l2 reaches the kernel through `syscall()`
// (SYS_openat, SYS_ioctl, SYS_mmap, SYS_close: see `nm -D libv4l2.so.0`, it imports no
// open/ioctl/mmap at all), while tools such as v4l2-ctl call the libc symbols. So we interpose
// both, recognise the fake device path and the file descriptors we handed out, and forward
// everything else untouched.
//
// The fake device's fd is a real eventfd, so poll/select work: it is readable whenever a filled
// buffer waits to be dequeued (or the device has gone away). Buffers live in one memfd that the
// client maps with mmap(fd, offset) as with a real driver.
//
// Environment:
//   FAKECAM_DEVICE   device path to emulate (default /dev/video42; need not exist on disk)
//   FAKECAM_FORMATS  comma list of MJPG,YUYV (default: MJPG,YUYV if MJPEG data given, else YUYV)
//   FAKECAM_SIZES    comma list of WxH (default 640x480,320x240)
//   FAKECAM_FPS      comma list of frame rates (default 30,15)
//   FAKECAM_JPEG_DIR directory whose sorted *.jpg/*.jpeg files are served as MJPEG frames
//   FAKECAM_MJPEG    concatenated MJPEG file served as MJPEG frames (split on SOI/EOI)
//   FAKECAM_SCRIPT   fault commands separated by ';' (see below), applied at start
//   FAKECAM_CONTROL  a file polled every frame period; complete lines appended to it are commands
//   FAKECAM_DEBUG    1: log every emulated call to stderr
//
// Frame content (tests recompute it independently):
//   MJPEG: frame with driver sequence s carries JPEG number (s mod count).
//   YUYV:  byte at (row y, byte column x) = (x + 7*y + 13*s) mod 256.
//
// Commands (a leading "@N " defers a command until N frames have been delivered in total):
//   eagain N      next N DQBUF calls fail with EAGAIN (even though poll said readable)
//   eintr N       next N ioctls fail with EINTR
//   eio [N]       next N (default 1) DQBUF calls fail with EIO
//   unplug [S]    device disappears: open -> ENOENT, ioctls on open fds -> ENODEV, fds become
//                 readable; with S, replug automatically after S seconds
//   replug        device is back (fds opened before the unplug stay dead, like a real device)
//   stall [S]     no frames for S seconds; without S, until the next STREAMON
//   drop N        skip N frames (sequence numbers advance, nothing is delivered)
//   corrupt N     next N frames are broken, cycling: garbage without SOI, truncated (no EOI),
//                 bytesused 0, V4L2_BUF_FLAG_ERROR set
//   nodht 0|1     strip DHT segments from MJPEG frames (UVC cameras commonly send none)
//   corrupt-every N   from now on every Nth frame (sequence % N == 0) is broken as by
//                 `corrupt`; 0 turns it off
//   nodht-every N every Nth frame (sequence % N == N/2) has no DHT segments; 0 turns it off
//   busy 0|1      S_FMT/REQBUFS fail with EBUSY (another process owns the camera)
//   deny 0|1      open fails with EACCES
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 16
#define MAX_BUFFERS 32
#define MAX_LIST 16
#define MAX_SCHEDULED 64

typedef struct {
    uint8_t *data;
    size_t length;
} blob;

enum buffer_state { BUF_DEQUEUED, BUF_QUEUED, BUF_DONE };

typedef struct {
    enum buffer_state state;
    uint32_t bytesused;
    uint32_t flags;
    uint32_t sequence;
    struct timeval timestamp;
    uint64_t order; // FIFO order within its queue
} fake_buffer;

typedef struct {
    uint64_t after_frames;
    char command[96];
} scheduled_command;

// Lock-free readable table of the fds we handed out (stored as fd + 1, so the zeroed table is
// empty before initialisation): interposed mmap/close are called by malloc and by every thread,
// so recognising "not ours" must never take the lock.
static int fake_fds_plus_one[MAX_FDS];
#define fake_fds(slot) (fake_fds_plus_one[slot] - 1)
static unsigned fd_generation[MAX_FDS];
static int fd_flags[MAX_FDS];
static int fd_signaled[MAX_FDS];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t frame_ready = PTHREAD_COND_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int debug;

// Configuration.
static char device_path[256] = "/dev/video42";
static uint32_t formats[2];
static int format_count;
static uint32_t sizes[MAX_LIST][2];
static int size_count;
static uint32_t rates[MAX_LIST];
static int rate_count;
static blob jpegs[512];
static int jpeg_count;
static size_t max_jpeg;
static char control_path[512];
static long control_offset;

// Device state.
static int present = 1;
static unsigned generation = 1;
static int deny, busy, nodht;
static uint32_t pixelformat;
static uint32_t width, height;
static uint32_t fps;
static int buffer_count;
static size_t buffer_size;
static int memfd = -1;
static uint8_t *buffer_memory;
static fake_buffer buffers[MAX_BUFFERS];
static uint64_t order_counter;
static int owner_fd = -1;
static int streaming;
static uint32_t sequence;
static uint64_t delivered_total;
static int eagain_left, eintr_left, eio_left, corrupt_left, drop_left;
static unsigned corrupt_every, nodht_every;
static unsigned corrupt_kind;
static uint64_t stall_until_ns; // UINT64_MAX: until the next STREAMON
static uint64_t replug_at_ns;
static scheduled_command scheduled[MAX_SCHEDULED];
static int scheduled_count;

// ---- real functions -------------------------------------------------------------------------

static long (*real_syscall)(long, ...);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_open_2)(const char *, int);
static int (*real_open64_2)(const char *, int);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);

#define RESOLVE(name, symbol)                                                                      \
    do {                                                                                           \
        if (!name) name = dlsym(RTLD_NEXT, symbol);                                                \
    } while (0)

static long forward_syscall(long n, long a0, long a1, long a2, long a3, long a4, long a5) {
    RESOLVE(real_syscall, "syscall");
    return real_syscall(n, a0, a1, a2, a3, a4, a5);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define LOG(...)                                                                                   \
    do {                                                                                           \
        if (debug) {                                                                               \
            fprintf(stderr, "fakecam: " __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

// ---- fd table ---------------------------------------------------------------------------------

static int slot_of(int fd) {
    if (fd < 0) return -1;
    for (int i = 0; i < MAX_FDS; i++)
        if (__atomic_load_n(&fake_fds_plus_one[i], __ATOMIC_ACQUIRE) == fd + 1) return i;
    return -1;
}

static int fd_alive(int slot) { return present && fd_generation[slot] == generation; }

static void set_signaled(int slot, int want) {
    int fd = fake_fds(slot);
    if (want && !fd_signaled[slot]) {
        eventfd_write(fd, 1);
        fd_signaled[slot] = 1;
    } else if (!want && fd_signaled[slot]) {
        eventfd_t value;
        eventfd_read(fd, &value);
        fd_signaled[slot] = 0;
    }
}

static int done_count(void) {
    int n = 0;
    for (int i = 0; i < buffer_count; i++) n += buffers[i].state == BUF_DONE;
    return n;
}

static void update_readiness_locked(void) {
    int done = done_count();
    for (int i = 0; i < MAX_FDS; i++) {
        if (fake_fds(i) < 0) continue;
        int dead = !fd_alive(i);
        int want = dead || (fake_fds(i) == owner_fd && streaming && done > 0);
        set_signaled(i, want);
    }
    pthread_cond_broadcast(&frame_ready);
}

// ---- configuration ------------------------------------------------------------------------------

static int read_file(const char *path, blob *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n <= 0) {
        fclose(f);
        return -1;
    }
    out->data = malloc((size_t)n);
    out->length = fread(out->data, 1, (size_t)n, f);
    fclose(f);
    return 0;
}

static void add_jpeg(const uint8_t *data, size_t length) {
    if (jpeg_count >= (int)(sizeof jpegs / sizeof jpegs[0])) return;
    jpegs[jpeg_count].data = malloc(length);
    memcpy(jpegs[jpeg_count].data, data, length);
    jpegs[jpeg_count].length = length;
    if (length > max_jpeg) max_jpeg = length;
    jpeg_count++;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_jpeg_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        const char *dot = strrchr(e->d_name, '.');
        if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        blob b;
        if (read_file(path, &b) == 0) {
            add_jpeg(b.data, b.length);
            free(b.data);
        }
        free(names[i]);
    }
}

// Splits naively on SOI ... EOI: the file is a test fixture we made, not arbitrary input.
static void load_mjpeg(const char *path) {
    blob b;
    if (read_file(path, &b) != 0) return;
    size_t i = 0;
    while (i + 1 < b.length) {
        if (b.data[i] == 0xFF && b.data[i + 1] == 0xD8) {
            size_t j = i + 2;
            while (j + 1 < b.length && !(b.data[j] == 0xFF && b.data[j + 1] == 0xD9)) j++;
            if (j + 1 >= b.length) break;
            add_jpeg(b.data + i, j + 2 - i);
            i = j + 2;
        } else {
            i++;
        }
    }
    free(b.data);
}

static void apply_command_locked(const char *line);

static void configure(void) {
    const char *v;
    debug = (v = getenv("FAKECAM_DEBUG")) && *v == '1';
    if ((v = getenv("FAKECAM_DEVICE")) && *v) snprintf(device_path, sizeof device_path, "%s", v);
    if ((v = getenv("FAKECAM_JPEG_DIR")) && *v) load_jpeg_dir(v);
    if ((v = getenv("FAKECAM_MJPEG")) && *v) load_mjpeg(v);
    if ((v = getenv("FAKECAM_FORMATS")) && *v) {
        char copy[64];
        snprintf(copy, sizeof copy, "%s", v);
        for (char *save, *t = strtok_r(copy, ",", &save); t && format_count < 2;
             t = strtok_r(NULL, ",", &save)) {
            if (!strcmp(t, "MJPG") && jpeg_count > 0) formats[format_count++] = V4L2_PIX_FMT_MJPEG;
            if (!strcmp(t, "YUYV")) formats[format_count++] = V4L2_PIX_FMT_YUYV;
        }
    } else {
        if (jpeg_count > 0) formats[format_count++] = V4L2_PIX_FMT_MJPEG;
        formats[format_count++] = V4L2_PIX_FMT_YUYV;
    }
    char list[256];
    snprintf(list, sizeof list, "%s", (v = getenv("FAKECAM_SIZES")) && *v ? v : "640x480,320x240");
    for (char *save, *t = strtok_r(list, ",", &save); t && size_count < MAX_LIST;
         t = strtok_r(NULL, ",", &save)) {
        unsigned w, h;
        if (sscanf(t, "%ux%u", &w, &h) == 2 && w > 0 && h > 0) {
            sizes[size_count][0] = w;
            sizes[size_count][1] = h;
            size_count++;
        }
    }
    snprintf(list, sizeof list, "%s", (v = getenv("FAKECAM_FPS")) && *v ? v : "30,15");
    for (char *save, *t = strtok_r(list, ",", &save); t && rate_count < MAX_LIST;
         t = strtok_r(NULL, ",", &save)) {
        unsigned r;
        if (sscanf(t, "%u", &r) == 1 && r > 0) rates[rate_count++] = r;
    }
    if (size_count == 0) {
        sizes[0][0] = 640;
        sizes[0][1] = 480;
        size_count = 1;
    }
    if (rate_count == 0) rates[rate_count++] = 30;
    pixelformat = formats[0];
    width = sizes[0][0];
    height = sizes[0][1];
    fps = rates[0];
    if ((v = getenv("FAKECAM_CONTROL")) && *v) snprintf(control_path, sizeof control_path, "%s", v);
    if ((v = getenv("FAKECAM_SCRIPT")) && *v) {
        char *copy = strdup(v);
        for (char *save, *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
            apply_command_locked(t);
        free(copy);
    }
}

// ---- frames -----------------------------------------------------------------------------------

static uint32_t size_image(void) {
    if (pixelformat == V4L2_PIX_FMT_YUYV) return width * height * 2;
    uint32_t n = width * height * 2;
    return n > max_jpeg + 4096 ? n : (uint32_t)(max_jpeg + 4096);
}

// Copies `src` without its DHT (FFC4) segments; returns the new length.
static size_t copy_without_dht(uint8_t *dst, const uint8_t *src, size_t length) {
    size_t i = 2, o = 2;
    memcpy(dst, src, 2);
    while (i + 4 <= length && src[i] == 0xFF) {
        uint8_t marker = src[i + 1];
        size_t seglen = ((size_t)src[i + 2] << 8) | src[i + 3];
        if (marker == 0xDA) break; // SOS: the rest is entropy-coded data
        if (marker != 0xC4) {
            memcpy(dst + o, src + i, seglen + 2);
            o += seglen + 2;
        }
        i += seglen + 2;
    }
    memcpy(dst + o, src + i, length - i);
    return o + length - i;
}

static void fill_frame(fake_buffer *b, uint8_t *mem, uint32_t seq) {
    b->flags = 0;
    if (pixelformat == V4L2_PIX_FMT_YUYV) {
        uint32_t bpl = width * 2;
        for (uint32_t y = 0; y < height; y++) {
            uint8_t base = (uint8_t)(7 * y + 13 * seq);
            uint8_t *row = mem + (size_t)y * bpl;
            for (uint32_t x = 0; x < bpl; x++) row[x] = (uint8_t)(base + x);
        }
        b->bytesused = width * height * 2;
    } else {
        const blob *j = &jpegs[seq % (uint32_t)jpeg_count];
        size_t n = j->length < buffer_size ? j->length : buffer_size;
        int strip = nodht || (nodht_every > 0 && seq % nodht_every == nodht_every / 2);
        if (strip && n == j->length)
            n = copy_without_dht(mem, j->data, n);
        else
            memcpy(mem, j->data, n);
        b->bytesused = (uint32_t)n;
    }
    if (corrupt_left > 0 || (corrupt_every > 0 && seq % corrupt_every == 0)) {
        if (corrupt_left > 0) corrupt_left--;
        switch (corrupt_kind++ % 4) {
        case 0: { // garbage: no SOI
            uint32_t n = b->bytesused < 1000 ? b->bytesused : 1000;
            uint32_t x = 2463534242u ^ seq;
            for (uint32_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                mem[i] = (uint8_t)x;
            }
            mem[0] = 0x00;
            b->bytesused = n;
            break;
        }
        case 1: b->bytesused /= 2; break; // truncated: SOI but no EOI
        case 2: b->bytesused = 0; break;
        case 3: b->flags = V4L2_BUF_FLAG_ERROR; break;
        }
    }
}

// One frame period: called by the feeder thread with the lock held.
static void tick_locked(uint64_t now) {
    if (replug_at_ns && now >= replug_at_ns) apply_command_locked("replug");
    if (!present || !streaming) return;
    if (stall_until_ns) {
        if (now < stall_until_ns) return;
        stall_until_ns = 0;
    }
    uint32_t seq = sequence++;
    if (drop_left > 0) {
        drop_left--;
        return;
    }
    fake_buffer *next = NULL;
    for (int i = 0; i < buffer_count; i++)
        if (buffers[i].state == BUF_QUEUED && (!next || buffers[i].order < next->order))
            next = &buffers[i];
    if (!next) return; // no buffer queued: the frame is lost, as with a real driver
    fill_frame(next, buffer_memory + (size_t)(next - buffers) * buffer_size, seq);
    next->sequence = seq;
    next->timestamp.tv_sec = (time_t)(now / 1000000000ull);
    next->timestamp.tv_usec = (suseconds_t)(now % 1000000000ull / 1000);
    next->state = BUF_DONE;
    next->order = order_counter++;
    delivered_total++;
}

// ---- commands ---------------------------------------------------------------------------------

static void release_buffers_locked(void) {
    if (buffer_memory) munmap(buffer_memory, buffer_size * (size_t)buffer_count);
    if (memfd >= 0) forward_syscall(SYS_close, memfd, 0, 0, 0, 0, 0);
    buffer_memory = NULL;
    memfd = -1;
    buffer_count = 0;
    owner_fd = -1;
    streaming = 0;
}

static void apply_command_locked(const char *line) {
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '@') {
        if (scheduled_count < MAX_SCHEDULED) {
            char *end;
            scheduled[scheduled_count].after_frames = strtoull(line + 1, &end, 10);
            while (*end == ' ') end++;
            snprintf(scheduled[scheduled_count].command, sizeof scheduled[0].command, "%s", end);
            scheduled_count++;
        }
        return;
    }
    char name[32] = "";
    double value = -1;
    if (sscanf(line, "%31s %lf", name, &value) < 1) return;
    LOG("command %s %g", name, value);
    if (!strcmp(name, "eagain")) eagain_left = value < 0 ? 1 : (int)value;
    else if (!strcmp(name, "eintr")) eintr_left = value < 0 ? 1 : (int)value;
    else if (!strcmp(name, "eio")) eio_left = value < 0 ? 1 : (int)value;
    else if (!strcmp(name, "drop")) drop_left = value < 0 ? 1 : (int)value;
    else if (!strcmp(name, "corrupt")) corrupt_left = value < 0 ? 1 : (int)value;
    else if (!strcmp(name, "nodht")) nodht = value != 0;
    else if (!strcmp(name, "corrupt-every")) corrupt_every = value > 0 ? (unsigned)value : 0;
    else if (!strcmp(name, "nodht-every")) nodht_every = value > 0 ? (unsigned)value : 0;
    else if (!strcmp(name, "busy")) busy = value != 0;
    else if (!strcmp(name, "deny")) deny = value != 0;
    else if (!strcmp(name, "stall"))
        stall_until_ns = value <= 0 ? UINT64_MAX : now_ns() + (uint64_t)(value * 1e9);
    else if (!strcmp(name, "unplug")) {
        present = 0;
        streaming = 0;
        replug_at_ns = value > 0 ? now_ns() + (uint64_t)(value * 1e9) : 0;
    } else if (!strcmp(name, "replug")) {
        if (!present) {
            present = 1;
            generation++;
            // The old fds are dead; forget their buffers so a new open starts fresh.
            release_buffers_locked();
        }
        replug_at_ns = 0;
    }
    update_readiness_locked();
}

static void poll_control_locked(void) {
    for (int i = 0; i < scheduled_count;) {
        if (delivered_total >= scheduled[i].after_frames) {
            char command[96];
            memcpy(command, scheduled[i].command, sizeof command);
            scheduled[i] = scheduled[--scheduled_count];
            apply_command_locked(command);
        } else {
            i++;
        }
    }
    if (!control_path[0]) return;
    FILE *f = fopen(control_path, "r");
    if (!f) return;
    if (fseek(f, control_offset, SEEK_SET) == 0) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            size_t n = strlen(line);
            if (n == 0 || line[n - 1] != '\n') break; // incomplete line: read it next time
            control_offset += (long)n;
            line[n - 1] = 0;
            apply_command_locked(line);
        }
    }
    fclose(f);
}

static void *feeder(void *unused) {
    (void)unused;
    uint64_t next = now_ns();
    for (;;) {
        pthread_mutex_lock(&lock);
        uint64_t period = 1000000000ull / (fps ? fps : 30);
        uint64_t now = now_ns();
        poll_control_locked();
        tick_locked(now);
        update_readiness_locked();
        pthread_mutex_unlock(&lock);
        next += period;
        if (next + 1000000000ull < now) next = now + period; // we fell far behind: do not burst
        struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
    }
    return NULL;
}

static void initialize(void) {
    pthread_mutex_lock(&lock);
    configure();
    pthread_mutex_unlock(&lock);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attr, feeder, NULL);
    pthread_attr_destroy(&attr);
}

static int is_fake_path(const char *path) {
    if (!path) return 0;
    pthread_once(&init_once, initialize);
    return strcmp(path, device_path) == 0;
}

// ---- emulated calls ---------------------------------------------------------------------------

static long fail(int code) {
    errno = code;
    return -1;
}

static long fake_open(const char *path, int flags) {
    pthread_mutex_lock(&lock);
    LOG("open %s flags=%#x", path, flags);
    int code = !present ? ENOENT : deny ? EACCES : 0;
    int slot = -1;
    for (int i = 0; i < MAX_FDS && !code; i++)
        if (fake_fds(i) < 0) {
            slot = i;
            break;
        }
    if (!code && slot < 0) code = EMFILE;
    int fd = code ? -1 : eventfd(0, EFD_NONBLOCK | ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0));
    if (!code && fd < 0) code = errno;
    if (!code) {
        fd_generation[slot] = generation;
        fd_flags[slot] = flags;
        fd_signaled[slot] = 0;
        __atomic_store_n(&fake_fds_plus_one[slot], fd + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&lock);
    return code ? fail(code) : fd;
}

static long fake_close(int slot) {
    pthread_mutex_lock(&lock);
    int fd = fake_fds(slot);
    LOG("close %d", fd);
    if (owner_fd == fd) release_buffers_locked();
    __atomic_store_n(&fake_fds_plus_one[slot], 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return forward_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
}

static int supported_format(uint32_t f) {
    for (int i = 0; i < format_count; i++)
        if (formats[i] == f) return 1;
    return 0;
}

static int closest_size(uint32_t w, uint32_t h) {
    int best = 0;
    long best_distance = -1;
    for (int i = 0; i < size_count; i++) {
        long d = labs((long)sizes[i][0] - (long)w) + labs((long)sizes[i][1] - (long)h);
        if (best_distance < 0 || d < best_distance) best = i, best_distance = d;
    }
    return best;
}

static void describe_format_locked(struct v4l2_pix_format *pix) {
    memset(pix, 0, sizeof *pix);
    pix->width = width;
    pix->height = height;
    pix->pixelformat = pixelformat;
    pix->field = V4L2_FIELD_NONE;
    pix->bytesperline = pixelformat == V4L2_PIX_FMT_YUYV ? width * 2 : 0;
    pix->sizeimage = size_image();
    pix->colorspace = pixelformat == V4L2_PIX_FMT_YUYV ? V4L2_COLORSPACE_SRGB : V4L2_COLORSPACE_JPEG;
}

static long fmt_ioctl_locked(int fd, unsigned long request, struct v4l2_format *f) {
    if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
    if (request == VIDIOC_G_FMT) {
        describe_format_locked(&f->fmt.pix);
        return 0;
    }
    uint32_t want = f->fmt.pix.pixelformat;
    uint32_t chosen = supported_format(want) ? want : formats[0];
    int s = closest_size(f->fmt.pix.width, f->fmt.pix.height);
    if (request == VIDIOC_S_FMT) {
        if (busy || streaming || (owner_fd >= 0 && owner_fd != fd)) return fail(EBUSY);
        pixelformat = chosen;
        width = sizes[s][0];
        height = sizes[s][1];
        describe_format_locked(&f->fmt.pix);
        return 0;
    }
    // TRY_FMT: describe without changing state.
    uint32_t saved[3] = {pixelformat, width, height};
    pixelformat = chosen;
    width = sizes[s][0];
    height = sizes[s][1];
    describe_format_locked(&f->fmt.pix);
    pixelformat = saved[0], width = saved[1], height = saved[2];
    return 0;
}

static long dqbuf_locked(int slot, struct v4l2_buffer *b) {
    int fd = fake_fds(slot);
    if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP) return fail(EINVAL);
    if (fd != owner_fd) return fail(EBUSY);
    if (eio_left > 0) {
        eio_left--;
        return fail(EIO);
    }
    if (eagain_left > 0) {
        eagain_left--;
        return fail(EAGAIN);
    }
    for (;;) {
        if (!fd_alive(slot)) return fail(ENODEV);
        if (!streaming) return fail(EINVAL);
        fake_buffer *done = NULL;
        for (int i = 0; i < buffer_count; i++)
            if (buffers[i].state == BUF_DONE && (!done || buffers[i].order < done->order))
                done = &buffers[i];
        if (done) {
            uint32_t index = (uint32_t)(done - buffers);
            memset(b, 0, sizeof *b);
            b->index = index;
            b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            b->memory = V4L2_MEMORY_MMAP;
            b->bytesused = done->bytesused;
            b->flags = done->flags | V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
            b->field = V4L2_FIELD_NONE;
            b->timestamp = done->timestamp;
            b->sequence = done->sequence;
            b->m.offset = (uint32_t)(index * buffer_size);
            b->length = (uint32_t)buffer_size;
            done->state = BUF_DEQUEUED;
            update_readiness_locked();
            return 0;
        }
        if (fd_flags[slot] & O_NONBLOCK) return fail(EAGAIN);
        pthread_cond_wait(&frame_ready, &lock);
    }
}

static long ioctl_locked(int slot, unsigned long request, void *arg) {
    int fd = fake_fds(slot);
    if (!arg) return fail(EFAULT);
    if (!fd_alive(slot)) return fail(ENODEV);
    if (eintr_left > 0) {
        eintr_left--;
        return fail(EINTR);
    }
    switch (request) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = arg;
        memset(c, 0, sizeof *c);
        snprintf((char *)c->driver, sizeof c->driver, "fakecam");
        snprintf((char *)c->card, sizeof c->card, "EdgeCAM fake camera");
        snprintf((char *)c->bus_info, sizeof c->bus_info, "platform:fakecam");
        c->version = (6 << 16) | (1 << 8);
        c->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        c->capabilities = c->device_caps | V4L2_CAP_DEVICE_CAPS;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= (uint32_t)format_count)
            return fail(EINVAL);
        uint32_t index = d->index, type = d->type;
        memset(d, 0, sizeof *d);
        d->index = index;
        d->type = type;
        d->pixelformat = formats[index];
        if (formats[index] == V4L2_PIX_FMT_MJPEG) {
            d->flags = V4L2_FMT_FLAG_COMPRESSED;
            snprintf((char *)d->description, sizeof d->description, "Motion-JPEG");
        } else {
            snprintf((char *)d->description, sizeof d->description, "YUYV 4:2:2");
        }
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        struct v4l2_frmsizeenum *e = arg;
        if (!supported_format(e->pixel_format) || e->index >= (uint32_t)size_count)
            return fail(EINVAL);
        e->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        e->discrete.width = sizes[e->index][0];
        e->discrete.height = sizes[e->index][1];
        return 0;
    }
    case VIDIOC_ENUM_FRAMEINTERVALS: {
        struct v4l2_frmivalenum *e = arg;
        if (!supported_format(e->pixel_format) || e->index >= (uint32_t)rate_count)
            return fail(EINVAL);
        int s = closest_size(e->width, e->height);
        if (sizes[s][0] != e->width || sizes[s][1] != e->height) return fail(EINVAL);
        e->type = V4L2_FRMIVAL_TYPE_DISCRETE;
        e->discrete.numerator = 1;
        e->discrete.denominator = rates[e->index];
        return 0;
    }
    case VIDIOC_G_FMT:
    case VIDIOC_S_FMT:
    case VIDIOC_TRY_FMT: return fmt_ioctl_locked(fd, request, arg);
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
        if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
        if (request == VIDIOC_S_PARM) {
            struct v4l2_fract t = p->parm.capture.timeperframe;
            if (t.numerator && t.denominator) {
                double want = (double)t.denominator / t.numerator;
                uint32_t best = rates[0];
                for (int i = 1; i < rate_count; i++)
                    if (fabs((double)rates[i] - want) < fabs((double)best - want)) best = rates[i];
                fps = best;
            }
        }
        memset(&p->parm, 0, sizeof p->parm);
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        p->parm.capture.timeperframe.numerator = 1;
        p->parm.capture.timeperframe.denominator = fps;
        p->parm.capture.readbuffers = 0;
        return 0;
    }
    case VIDIOC_ENUMINPUT: {
        struct v4l2_input *in = arg;
        if (in->index != 0) return fail(EINVAL);
        memset(in, 0, sizeof *in);
        snprintf((char *)in->name, sizeof in->name, "Camera");
        in->type = V4L2_INPUT_TYPE_CAMERA;
        return 0;
    }
    case VIDIOC_G_INPUT: *(int *)arg = 0; return 0;
    case VIDIOC_S_INPUT: return *(int *)arg == 0 ? 0 : fail(EINVAL);
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *r = arg;
        if (r->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || r->memory != V4L2_MEMORY_MMAP)
            return fail(EINVAL);
        if (busy || (owner_fd >= 0 && owner_fd != fd) || streaming) return fail(EBUSY);
        release_buffers_locked();
        memset(r->reserved, 0, sizeof r->reserved);
        r->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP;
        if (r->count == 0) return 0;
        int n = r->count < 2 ? 2 : r->count > MAX_BUFFERS ? MAX_BUFFERS : (int)r->count;
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        buffer_size = (size_image() + page - 1) / page * page;
        memfd = memfd_create("fakecam-buffers", MFD_CLOEXEC);
        if (memfd < 0 || ftruncate(memfd, (off_t)(buffer_size * (size_t)n)) != 0)
            return fail(ENOMEM);
        RESOLVE(real_mmap, "mmap");
        buffer_memory = real_mmap(NULL, buffer_size * (size_t)n, PROT_READ | PROT_WRITE,
                                  MAP_SHARED, memfd, 0);
        if (buffer_memory == MAP_FAILED) {
            buffer_memory = NULL;
            release_buffers_locked();
            return fail(ENOMEM);
        }
        buffer_count = n;
        memset(buffers, 0, sizeof buffers);
        owner_fd = fd;
        r->count = (uint32_t)n;
        return 0;
    }
    case VIDIOC_QUERYBUF:
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->index >= (uint32_t)buffer_count)
            return fail(EINVAL);
        if (fd != owner_fd) return fail(EBUSY);
        fake_buffer *fb = &buffers[b->index];
        if (request == VIDIOC_QBUF) {
            if (b->memory != V4L2_MEMORY_MMAP || fb->state != BUF_DEQUEUED) return fail(EINVAL);
            fb->state = BUF_QUEUED;
            fb->order = order_counter++;
            b->flags = (b->flags & ~V4L2_BUF_FLAG_DONE) | V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_MAPPED;
            update_readiness_locked();
            return 0;
        }
        uint32_t index = b->index;
        memset(b, 0, sizeof *b);
        b->index = index;
        b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b->memory = V4L2_MEMORY_MMAP;
        b->length = (uint32_t)buffer_size;
        b->m.offset = (uint32_t)(index * buffer_size);
        b->bytesused = fb->state == BUF_DONE ? fb->bytesused : 0;
        b->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC |
                   (fb->state == BUF_QUEUED ? V4L2_BUF_FLAG_QUEUED : 0) |
                   (fb->state == BUF_DONE ? V4L2_BUF_FLAG_DONE : 0);
        b->field = V4L2_FIELD_NONE;
        return 0;
    }
    case VIDIOC_DQBUF: return dqbuf_locked(slot, arg);
    case VIDIOC_STREAMON:
    case VIDIOC_STREAMOFF: {
        if (*(int *)arg != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
        if (fd != owner_fd || buffer_count == 0) return fail(EINVAL);
        if (request == VIDIOC_STREAMON) {
            if (!streaming) {
                streaming = 1;
                sequence = 0;
                if (stall_until_ns == UINT64_MAX) stall_until_ns = 0;
            }
        } else {
            streaming = 0;
            for (int i = 0; i < buffer_count; i++) buffers[i].state = BUF_DEQUEUED;
        }
        update_readiness_locked();
        return 0;
    }
    case VIDIOC_QUERYCTRL:
    case VIDIOC_QUERY_EXT_CTRL:
    case VIDIOC_QUERYMENU:
    case VIDIOC_G_CTRL:
    case VIDIOC_S_CTRL:
    case VIDIOC_G_EXT_CTRLS:
    case VIDIOC_S_EXT_CTRLS:
    case VIDIOC_TRY_EXT_CTRLS: return fail(EINVAL); // no controls
    default: LOG("unsupported ioctl %#lx", request); return fail(ENOTTY);
    }
}

static long fake_ioctl(int slot, unsigned long request, void *arg) {
    pthread_mutex_lock(&lock);
    long result = ioctl_locked(slot, request, arg);
    int saved = errno;
    LOG("ioctl fd=%d %#lx -> %ld%s%s", fake_fds(slot), request, result, result < 0 ? " " : "",
        result < 0 ? strerror(saved) : "");
    pthread_mutex_unlock(&lock);
    errno = saved;
    return result;
}

static void *fake_mmap(void *addr, size_t length, int prot, int flags, int slot, off_t offset) {
    pthread_mutex_lock(&lock);
    void *result = MAP_FAILED;
    int code = 0;
    if (!fd_alive(slot)) code = ENODEV;
    else if (fake_fds(slot) != owner_fd || memfd < 0) code = EINVAL;
    else if (offset < 0 || (size_t)offset + length > buffer_size * (size_t)buffer_count) code = EINVAL;
    else {
        RESOLVE(real_mmap, "mmap");
        result = real_mmap(addr, length, prot, flags, memfd, offset);
        if (result == MAP_FAILED) code = errno;
    }
    LOG("mmap fd=%d offset=%ld length=%zu -> %p", fake_fds(slot), (long)offset, length, result);
    pthread_mutex_unlock(&lock);
    if (code) errno = code;
    return result;
}

// ---- interposed symbols -------------------------------------------------------------------------

long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    int slot;
    switch (number) {
#ifdef SYS_open
    case SYS_open:
        if (is_fake_path((const char *)a[0])) return fake_open((const char *)a[0], (int)a[1]);
        break;
#endif
    case SYS_openat:
        if (is_fake_path((const char *)a[1])) return fake_open((const char *)a[1], (int)a[2]);
        break;
    case SYS_close:
        if ((slot = slot_of((int)a[0])) >= 0) return fake_close(slot);
        break;
    case SYS_ioctl:
        if ((slot = slot_of((int)a[0])) >= 0) return fake_ioctl(slot, (unsigned long)a[1], (void *)a[2]);
        break;
    case SYS_mmap:
        if ((slot = slot_of((int)a[4])) >= 0)
            return (long)fake_mmap((void *)a[0], (size_t)a[1], (int)a[2], (int)a[3], slot, (off_t)a[5]);
        break;
    }
    return forward_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// v4l2-ctl reads /sys/dev/char/MAJOR:MINOR/uevent to learn what kind of device it opened.
static const char fake_uevent_path[] = "/sys/dev/char/81:42/uevent";

static int fake_uevent(void) {
    int fd = memfd_create("fakecam-uevent", MFD_CLOEXEC);
    static const char text[] = "MAJOR=81\nMINOR=42\nDEVNAME=video42\n";
    if (fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1)) lseek(fd, 0, SEEK_SET);
    return fd;
}

FILE *fopen(const char *path, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    if (path && !strcmp(path, fake_uevent_path)) return fdopen(fake_uevent(), "r");
    RESOLVE(real, "fopen");
    return real(path, mode);
}

FILE *fopen64(const char *path, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    if (path && !strcmp(path, fake_uevent_path)) return fdopen(fake_uevent(), "r");
    RESOLVE(real, "fopen64");
    return real(path, mode);
}

static int mode_argument(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    int mode = mode_argument(flags, ap);
    va_end(ap);
    if (is_fake_path(path)) return (int)fake_open(path, flags);
    if (!strcmp(path, fake_uevent_path)) return fake_uevent();
    RESOLVE(real_open, "open");
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    int mode = mode_argument(flags, ap);
    va_end(ap);
    if (is_fake_path(path)) return (int)fake_open(path, flags);
    if (!strcmp(path, fake_uevent_path)) return fake_uevent();
    RESOLVE(real_open64, "open64");
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    int mode = mode_argument(flags, ap);
    va_end(ap);
    if (is_fake_path(path)) return (int)fake_open(path, flags);
    if (!strcmp(path, fake_uevent_path)) return fake_uevent();
    RESOLVE(real_openat, "openat");
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    int mode = mode_argument(flags, ap);
    va_end(ap);
    if (is_fake_path(path)) return (int)fake_open(path, flags);
    if (!strcmp(path, fake_uevent_path)) return fake_uevent();
    RESOLVE(real_openat64, "openat64");
    return real_openat64(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags) {
    if (is_fake_path(path)) return (int)fake_open(path, flags);
    RESOLVE(real_open_2, "__open_2");
    return real_open_2(path, flags);
}

int __open64_2(const char *path, int flags) {
    if (is_fake_path(path)) return (int)fake_open(path, flags);
    RESOLVE(real_open64_2, "__open64_2");
    return real_open64_2(path, flags);
}

int close(int fd) {
    int slot = slot_of(fd);
    if (slot >= 0) return (int)fake_close(slot);
    RESOLVE(real_close, "close");
    return real_close(fd);
}

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int slot = slot_of(fd);
    if (slot >= 0) return (int)fake_ioctl(slot, request, arg);
    RESOLVE(real_ioctl, "ioctl");
    return real_ioctl(fd, request, arg);
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    int slot = slot_of(fd);
    if (slot >= 0) return fake_mmap(addr, length, prot, flags, slot, offset);
    RESOLVE(real_mmap, "mmap");
    return real_mmap(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    int slot = slot_of(fd);
    if (slot >= 0) return fake_mmap(addr, length, prot, flags, slot, offset);
    RESOLVE(real_mmap64, "mmap64");
    return real_mmap64(addr, length, prot, flags, fd, offset);
}

// stat/fstat: tools such as v4l2-ctl check that the path is a character device before opening it.
static void fake_stat(struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFCHR | 0660;
    st->st_rdev = makedev(81, 42);
    st->st_nlink = 1;
    st->st_blksize = 4096;
}

#define INTERPOSE_STAT(name, type)                                                                 \
    int name(const char *path, struct type *st) {                                                  \
        static int (*real)(const char *, struct type *);                                           \
        if (is_fake_path(path)) {                                                                  \
            if (!present) return (int)fail(ENOENT);                                                \
            fake_stat((struct stat *)st);                                                          \
            return 0;                                                                              \
        }                                                                                          \
        RESOLVE(real, #name);                                                                      \
        return real(path, st);                                                                     \
    }
INTERPOSE_STAT(stat, stat)
INTERPOSE_STAT(stat64, stat64)
INTERPOSE_STAT(lstat, stat)
INTERPOSE_STAT(lstat64, stat64)

#define INTERPOSE_FSTATAT(name, type)                                                              \
    int name(int dirfd, const char *path, struct type *st, int flags) {                            \
        static int (*real)(int, const char *, struct type *, int);                                 \
        if (is_fake_path(path)) {                                                                  \
            if (!present) return (int)fail(ENOENT);                                                \
            fake_stat((struct stat *)st);                                                          \
            return 0;                                                                              \
        }                                                                                          \
        RESOLVE(real, #name);                                                                      \
        return real(dirfd, path, st, flags);                                                       \
    }
INTERPOSE_FSTATAT(fstatat, stat)
INTERPOSE_FSTATAT(fstatat64, stat64)

#define INTERPOSE_FSTAT(name, type)                                                                \
    int name(int fd, struct type *st) {                                                            \
        static int (*real)(int, struct type *);                                                    \
        if (slot_of(fd) >= 0) {                                                                    \
            fake_stat((struct stat *)st);                                                          \
            return 0;                                                                              \
        }                                                                                          \
        RESOLVE(real, #name);                                                                      \
        return real(fd, st);                                                                       \
    }
INTERPOSE_FSTAT(fstat, stat)
INTERPOSE_FSTAT(fstat64, stat64)
