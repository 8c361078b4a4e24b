// Thin C shim over libjpeg(-turbo) for the Swift `Imaging` target.
//
// Why C: libjpeg reports fatal errors through `error_exit`, whose default calls exit(). The only
// way to get control back is setjmp/longjmp, which Swift cannot call. Every function below sets
// its own setjmp point, so Swift never sees a jmp_buf and a bad frame is just an error code.
//
// Warnings are errors: libjpeg "warnings" ("Premature end of JPEG file", "Corrupt JPEG data: ...")
// mean the pixels are partly made up, so the first warning aborts the operation with
// CJPEG_CORRUPT and its message. Nothing is ever printed to stderr.
//
// Decoding (one decoder may be reused for many images, one thread at a time):
//   cjpeg_decoder *d = cjpeg_decoder_create();
//   cjpeg_decoder_read_header(d, data, size, &header);   // data must stay valid until done
//   cjpeg_decoder_start(d, scale_denom, &w, &h);          // output is RGB8, w x h
//   cjpeg_decoder_read_rgb(d, rgb, row_stride);           // caller's buffer, h * row_stride bytes
//   ... on any non-zero result: cjpeg_decoder_message(d) says why; the decoder is reset.
//   cjpeg_decoder_destroy(d);
#ifndef CJPEG_H
#define CJPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Result codes (0 is success). Macros rather than an enum so Swift sees them as Int32, the
// type the functions return.
#define CJPEG_OK 0
#define CJPEG_CORRUPT 1            // libjpeg error or warning; the message has the details
#define CJPEG_UNSUPPORTED_COLOR 2  // CMYK, YCCK or an unknown colour space
#define CJPEG_BAD_STATE 3          // functions called out of order
#define CJPEG_BAD_ARGUMENT 4       // scale not 1/2/4/8, quality not 1...100, null buffer, ...
#define CJPEG_OUT_OF_MEMORY 5

// The JPEG colour space as written in the file (the libjpeg J_COLOR_SPACE values we name).
#define CJPEG_COLOR_UNKNOWN 0
#define CJPEG_COLOR_GRAYSCALE 1
#define CJPEG_COLOR_RGB 2
#define CJPEG_COLOR_YCBCR 3
#define CJPEG_COLOR_CMYK 4
#define CJPEG_COLOR_YCCK 5

typedef struct cjpeg_header {
    int width;          ///< image size in the file, before scaling
    int height;
    int components;     ///< 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK/YCCK)
    int color_space;    ///< CJPEG_COLOR_*
    int progressive;    ///< 1 for SOF2 (progressive) files
} cjpeg_header;

typedef struct cjpeg_decoder cjpeg_decoder;

/// Allocates a decoder; NULL if out of memory.
cjpeg_decoder *cjpeg_decoder_create(void);
/// Frees a decoder (NULL is ignored).
void cjpeg_decoder_destroy(cjpeg_decoder *decoder);

/// Starts a new image: reads markers up to the first scan. `data` must stay valid and unchanged
/// until the image is read or abandoned. Abandons any image in progress.
int cjpeg_decoder_read_header(cjpeg_decoder *decoder, const uint8_t *data, size_t size,
                              cjpeg_header *header);

/// Chooses DCT scaling 1/scale_denom (1, 2, 4 or 8) and the decoder settings (islow IDCT, fancy
/// upsampling, RGB output — djpeg's defaults) and returns the output size, which is
/// ceil(width / scale_denom) x ceil(height / scale_denom).
int cjpeg_decoder_start(cjpeg_decoder *decoder, int scale_denom, int *out_width, int *out_height);

/// Decodes all rows as RGB8 into `rgb` (row r at rgb + r * row_stride; row_stride >= 3 * width)
/// and finishes the image (reads up to EOI).
int cjpeg_decoder_read_rgb(cjpeg_decoder *decoder, uint8_t *rgb, size_t row_stride);

/// The message of the last failure ("" if none). Valid until the next call on this decoder.
const char *cjpeg_decoder_message(const cjpeg_decoder *decoder);

/// Encodes RGB8 rows (row r at rgb + r * row_stride) as a baseline JFIF JPEG.
/// quality 1...100 (libjpeg's scale, with baseline-compatible quantization tables);
/// h_sampling/v_sampling: chroma subsampling factors (2,2 = 4:2:0; 2,1 = 4:2:2; 1,1 = 4:4:4).
/// On success *out is a malloc'd buffer of *out_size bytes: release it with cjpeg_free.
/// On failure the message (NUL-terminated, truncated to fit) is written to message[0..<message_size].
int cjpeg_encode_rgb(const uint8_t *rgb, int width, int height, size_t row_stride, int quality,
                     int h_sampling, int v_sampling, uint8_t **out, size_t *out_size,
                     char *message, size_t message_size);

/// Frees a buffer returned by cjpeg_encode_rgb.
void cjpeg_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
