// CV4L2: the thin C door from Swift to V4L2 through libv4l2.
//
// Swift cannot call C variadic functions (v4l2_open, v4l2_ioctl) nor import function-like
// macros (VIDIOC_*, v4l2_fourcc), so this shim offers fixed-signature wrappers and exports the
// request numbers and constants we use as `extern const` values. Structs (v4l2_capability,
// v4l2_format, v4l2_buffer, ...) come straight from <linux/videodev2.h>.
//
// Every wrapper returns what libv4l2 returns and leaves errno as libv4l2 set it.
#ifndef CV4L2_H
#define CV4L2_H

#include <linux/videodev2.h>
#include <stddef.h>
#include <stdint.h>

/// Opens a device through libv4l2 (which adds format emulation on top of the driver).
/// `flags` are open(2) flags such as O_RDWR | O_NONBLOCK. Returns the fd or -1 with errno.
int cv4l2_open(const char *path, int flags);
/// Closes an fd opened with cv4l2_open. Returns 0 or -1 with errno.
int cv4l2_close(int fd);
/// Performs a V4L2 ioctl through libv4l2. Returns the ioctl result or -1 with errno.
int cv4l2_ioctl(int fd, unsigned long request, void *argument);
/// Maps a driver buffer (offset from VIDIOC_QUERYBUF). Returns MAP_FAILED ((void *)-1) on error.
void *cv4l2_mmap(void *address, size_t length, int protection, int flags, int fd, int64_t offset);
/// Unmaps a buffer mapped with cv4l2_mmap. Returns 0 or -1 with errno.
int cv4l2_munmap(void *address, size_t length);

// ioctl request numbers.
extern const unsigned long CV4L2_VIDIOC_QUERYCAP;
extern const unsigned long CV4L2_VIDIOC_ENUM_FMT;
extern const unsigned long CV4L2_VIDIOC_ENUM_FRAMESIZES;
extern const unsigned long CV4L2_VIDIOC_ENUM_FRAMEINTERVALS;
extern const unsigned long CV4L2_VIDIOC_G_FMT;
extern const unsigned long CV4L2_VIDIOC_S_FMT;
extern const unsigned long CV4L2_VIDIOC_G_PARM;
extern const unsigned long CV4L2_VIDIOC_S_PARM;
extern const unsigned long CV4L2_VIDIOC_REQBUFS;
extern const unsigned long CV4L2_VIDIOC_QUERYBUF;
extern const unsigned long CV4L2_VIDIOC_QBUF;
extern const unsigned long CV4L2_VIDIOC_DQBUF;
extern const unsigned long CV4L2_VIDIOC_STREAMON;
extern const unsigned long CV4L2_VIDIOC_STREAMOFF;

// Pixel formats (fourcc codes).
extern const uint32_t CV4L2_PIX_FMT_MJPEG;
extern const uint32_t CV4L2_PIX_FMT_JPEG;
extern const uint32_t CV4L2_PIX_FMT_YUYV;

// Enumerations, as plain integers so Swift needs no casts between enum types.
extern const uint32_t CV4L2_BUF_TYPE_VIDEO_CAPTURE;
extern const uint32_t CV4L2_MEMORY_MMAP;
extern const uint32_t CV4L2_FIELD_NONE;
extern const uint32_t CV4L2_FIELD_ANY;
extern const uint32_t CV4L2_FRMSIZE_TYPE_DISCRETE;
extern const uint32_t CV4L2_FRMSIZE_TYPE_CONTINUOUS;
extern const uint32_t CV4L2_FRMSIZE_TYPE_STEPWISE;
extern const uint32_t CV4L2_FRMIVAL_TYPE_DISCRETE;
extern const uint32_t CV4L2_FRMIVAL_TYPE_CONTINUOUS;
extern const uint32_t CV4L2_FRMIVAL_TYPE_STEPWISE;

// Flags.
extern const uint32_t CV4L2_CAP_VIDEO_CAPTURE;
extern const uint32_t CV4L2_CAP_STREAMING;
extern const uint32_t CV4L2_CAP_DEVICE_CAPS;
extern const uint32_t CV4L2_CAP_TIMEPERFRAME;
extern const uint32_t CV4L2_FMT_FLAG_EMULATED;
extern const uint32_t CV4L2_BUF_FLAG_ERROR;

#endif
