// See include/cjpeg.h for the contract. Every public function that calls into libjpeg sets its
// own setjmp point; the error manager's error_exit and (for warnings) emit_message longjmp there.
#include "cjpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

struct cjpeg_error_manager {
    struct jpeg_error_mgr pub;  // first member: libjpeg hands us a pointer to it
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void cjpeg_error_exit(j_common_ptr cinfo) {
    struct cjpeg_error_manager *err = (struct cjpeg_error_manager *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

// msg_level < 0 is a warning: the data is corrupt, so stop here. Trace messages are ignored.
static void cjpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    struct cjpeg_error_manager *err = (struct cjpeg_error_manager *)cinfo->err;
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
        (*cinfo->err->format_message)(cinfo, err->message);
        longjmp(err->jump, 1);
    }
}

static void cjpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void cjpeg_install_error_manager(struct cjpeg_error_manager *err) {
    jpeg_std_error(&err->pub);
    err->pub.error_exit = cjpeg_error_exit;
    err->pub.emit_message = cjpeg_emit_message;
    err->pub.output_message = cjpeg_output_message;
    err->message[0] = '\0';
}

static void cjpeg_set_message(struct cjpeg_error_manager *err, const char *text) {
    snprintf(err->message, sizeof err->message, "%s", text);
}

// MARK: - Decoding

enum { STATE_IDLE, STATE_HEADER, STATE_STARTED };

// A progressive file may hold any number of scans, each costing a pass over the coefficients:
// a few kilobytes could keep the decoder busy for minutes. Real encoders write about ten.
#define CJPEG_MAX_SCANS 64

struct cjpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct cjpeg_error_manager err;
    struct jpeg_progress_mgr progress;
    int state;
};

static void cjpeg_progress_monitor(j_common_ptr cinfo) {
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (cinfo->is_decompressor && dinfo->input_scan_number > CJPEG_MAX_SCANS) {
        struct cjpeg_error_manager *err = (struct cjpeg_error_manager *)cinfo->err;
        snprintf(err->message, sizeof err->message, "more than %d scans (progressive JPEG)",
                 CJPEG_MAX_SCANS);
        longjmp(err->jump, 1);
    }
}

cjpeg_decoder *cjpeg_decoder_create(void) {
    cjpeg_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    cjpeg_install_error_manager(&d->err);
    d->cinfo.err = &d->err.pub;
    if (setjmp(d->err.jump)) {  // jpeg_create_decompress fails only when out of memory
        free(d);
        return NULL;
    }
    jpeg_create_decompress(&d->cinfo);
    d->progress.progress_monitor = cjpeg_progress_monitor;
    d->cinfo.progress = &d->progress;
    d->state = STATE_IDLE;
    return d;
}

void cjpeg_decoder_destroy(cjpeg_decoder *d) {
    if (!d) return;
    jpeg_destroy_decompress(&d->cinfo);
    free(d);
}

const char *cjpeg_decoder_message(const cjpeg_decoder *d) { return d ? d->err.message : ""; }

static int cjpeg_decoder_fail(cjpeg_decoder *d, int code) {
    jpeg_abort_decompress(&d->cinfo);  // back to a reusable state
    d->state = STATE_IDLE;
    return code;
}

static int cjpeg_color_space(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return CJPEG_COLOR_GRAYSCALE;
    case JCS_RGB: return CJPEG_COLOR_RGB;
    case JCS_YCbCr: return CJPEG_COLOR_YCBCR;
    case JCS_CMYK: return CJPEG_COLOR_CMYK;
    case JCS_YCCK: return CJPEG_COLOR_YCCK;
    default: return CJPEG_COLOR_UNKNOWN;
    }
}

int cjpeg_decoder_read_header(cjpeg_decoder *d, const uint8_t *data, size_t size,
                              cjpeg_header *header) {
    if (!d || !header || (!data && size > 0)) return CJPEG_BAD_ARGUMENT;
    d->err.message[0] = '\0';
    d->err.pub.num_warnings = 0;
    if (setjmp(d->err.jump)) return cjpeg_decoder_fail(d, CJPEG_CORRUPT);
    jpeg_abort_decompress(&d->cinfo);
    d->state = STATE_IDLE;
    jpeg_mem_src(&d->cinfo, data, (unsigned long)size);
    jpeg_read_header(&d->cinfo, TRUE);  // TRUE: a tables-only stream is an error
    header->width = (int)d->cinfo.image_width;
    header->height = (int)d->cinfo.image_height;
    header->components = d->cinfo.num_components;
    header->color_space = cjpeg_color_space(d->cinfo.jpeg_color_space);
    header->progressive = d->cinfo.progressive_mode ? 1 : 0;
    d->state = STATE_HEADER;
    return CJPEG_OK;
}

int cjpeg_decoder_start(cjpeg_decoder *d, int scale_denom, int *out_width, int *out_height) {
    if (!d || !out_width || !out_height) return CJPEG_BAD_ARGUMENT;
    if (d->state != STATE_HEADER) {
        cjpeg_set_message(&d->err, "cjpeg_decoder_start called before cjpeg_decoder_read_header");
        return CJPEG_BAD_STATE;
    }
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8) {
        cjpeg_set_message(&d->err, "scale denominator must be 1, 2, 4 or 8");
        return cjpeg_decoder_fail(d, CJPEG_BAD_ARGUMENT);
    }
    switch (d->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: case JCS_RGB: case JCS_YCbCr: break;
    default:
        cjpeg_set_message(&d->err, "only greyscale, YCbCr and RGB JPEGs are supported");
        return cjpeg_decoder_fail(d, CJPEG_UNSUPPORTED_COLOR);
    }
    if (setjmp(d->err.jump)) return cjpeg_decoder_fail(d, CJPEG_CORRUPT);
    d->cinfo.out_color_space = JCS_RGB;  // libjpeg-turbo expands greyscale to RGB itself
    d->cinfo.scale_num = 1;
    d->cinfo.scale_denom = (unsigned int)scale_denom;
    d->cinfo.dct_method = JDCT_ISLOW;       // djpeg's default, so fixtures made by djpeg match
    d->cinfo.do_fancy_upsampling = TRUE;    // likewise
    d->cinfo.quantize_colors = FALSE;
    jpeg_start_decompress(&d->cinfo);
    if (d->cinfo.output_components != 3) {
        cjpeg_set_message(&d->err, "libjpeg did not produce RGB output");
        return cjpeg_decoder_fail(d, CJPEG_UNSUPPORTED_COLOR);
    }
    *out_width = (int)d->cinfo.output_width;
    *out_height = (int)d->cinfo.output_height;
    d->state = STATE_STARTED;
    return CJPEG_OK;
}

int cjpeg_decoder_read_rgb(cjpeg_decoder *d, uint8_t *rgb, size_t row_stride) {
    if (!d || !rgb) return CJPEG_BAD_ARGUMENT;
    if (d->state != STATE_STARTED) {
        cjpeg_set_message(&d->err, "cjpeg_decoder_read_rgb called before cjpeg_decoder_start");
        return CJPEG_BAD_STATE;
    }
    if (row_stride < (size_t)d->cinfo.output_width * 3) {
        cjpeg_set_message(&d->err, "row stride smaller than 3 * width");
        return cjpeg_decoder_fail(d, CJPEG_BAD_ARGUMENT);
    }
    if (setjmp(d->err.jump)) return cjpeg_decoder_fail(d, CJPEG_CORRUPT);
    while (d->cinfo.output_scanline < d->cinfo.output_height) {
        JSAMPROW rows[16];
        JDIMENSION first = d->cinfo.output_scanline;
        JDIMENSION count = d->cinfo.output_height - first;
        if (count > 16) count = 16;
        for (JDIMENSION i = 0; i < count; i++) rows[i] = rgb + (size_t)(first + i) * row_stride;
        if (jpeg_read_scanlines(&d->cinfo, rows, count) == 0) {
            // Cannot happen with a memory source (it never suspends); guard against a loop.
            cjpeg_set_message(&d->err, "libjpeg returned no rows");
            return cjpeg_decoder_fail(d, CJPEG_CORRUPT);
        }
    }
    jpeg_finish_decompress(&d->cinfo);  // reads to EOI: trailing corruption is reported too
    d->state = STATE_IDLE;
    return CJPEG_OK;
}

// MARK: - Encoding

struct cjpeg_encode_job {
    struct jpeg_compress_struct cinfo;
    struct cjpeg_error_manager err;
    unsigned char *buffer;  // filled in by jpeg_mem_dest
    unsigned long size;
};

// setjmp lives in this function and the job lives in the caller's frame, so every value read
// after a longjmp is in memory owned by another frame (no indeterminate locals).
static int cjpeg_encode_run(struct cjpeg_encode_job *job, const uint8_t *rgb, int width,
                            int height, size_t row_stride, int quality, int hs, int vs) {
    if (setjmp(job->err.jump)) return CJPEG_CORRUPT;
    jpeg_create_compress(&job->cinfo);
    jpeg_mem_dest(&job->cinfo, &job->buffer, &job->size);
    job->cinfo.image_width = (JDIMENSION)width;
    job->cinfo.image_height = (JDIMENSION)height;
    job->cinfo.input_components = 3;
    job->cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&job->cinfo);
    jpeg_set_quality(&job->cinfo, quality, TRUE);
    job->cinfo.dct_method = JDCT_ISLOW;
    job->cinfo.comp_info[0].h_samp_factor = hs;
    job->cinfo.comp_info[0].v_samp_factor = vs;
    jpeg_start_compress(&job->cinfo, TRUE);
    while (job->cinfo.next_scanline < job->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)job->cinfo.next_scanline * row_stride);
        jpeg_write_scanlines(&job->cinfo, &row, 1);
    }
    jpeg_finish_compress(&job->cinfo);
    return CJPEG_OK;
}

int cjpeg_encode_rgb(const uint8_t *rgb, int width, int height, size_t row_stride, int quality,
                     int h_sampling, int v_sampling, uint8_t **out, size_t *out_size,
                     char *message, size_t message_size) {
    const char *problem = NULL;
    if (!rgb || !out || !out_size) problem = "null argument";
    else if (width < 1 || height < 1 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        problem = "image size out of JPEG's range (1...65500)";
    else if (row_stride < (size_t)width * 3) problem = "row stride smaller than 3 * width";
    else if (quality < 1 || quality > 100) problem = "quality must be 1...100";
    else if (!((h_sampling == 1 || h_sampling == 2) && (v_sampling == 1 || v_sampling == 2)))
        problem = "chroma sampling factors must be 1 or 2";
    if (problem) {
        if (message && message_size) snprintf(message, message_size, "%s", problem);
        return CJPEG_BAD_ARGUMENT;
    }
    struct cjpeg_encode_job *job = calloc(1, sizeof *job);
    if (!job) {
        if (message && message_size) snprintf(message, message_size, "out of memory");
        return CJPEG_OUT_OF_MEMORY;
    }
    cjpeg_install_error_manager(&job->err);
    job->cinfo.err = &job->err.pub;
    int result = cjpeg_encode_run(job, rgb, width, height, row_stride, quality, h_sampling,
                                  v_sampling);
    jpeg_destroy_compress(&job->cinfo);
    if (result == CJPEG_OK) {
        *out = job->buffer;
        *out_size = (size_t)job->size;
    } else {
        if (message && message_size) snprintf(message, message_size, "%s", job->err.message);
        free(job->buffer);
    }
    free(job);
    return result;
}

void cjpeg_free(void *buffer) { free(buffer); }
