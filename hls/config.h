/* hls/config.h: build parameters of the accelerator kernels (hls/ and, through the generated
 * parameters, hw/): the largest shapes one build accepts and the on-chip memory it reserves.
 *
 * Every value can be overridden with -D (config.mk is the place for that). Values are plain
 * decimal literals because they also appear in the text of HLS pragmas (LOOP_TRIPCOUNT). The
 * defaults hold TinyLlama 1.1B at context 2048 (dim 2048, ffn 5632, 22 layers, 32 heads, 4 kv
 * heads, head_dim 64) and stories15M (6 kv heads, head_dim 48). A request beyond any maximum
 * makes the kernel return an error status and write nothing. On-chip memory this reserves
 * (csim allocates it when the device is opened):
 *   KV cache   FL_MAX_LAYERS * 2 * FL_MAX_CTX * FL_MAX_KV_HEADS * FL_MAX_HEAD_DIM * 2 bytes
 *              (92 MiB at the defaults) plus one fp16 scale per (layer, k|v, position, kv head)
 *   x buffer   FL_MAX_T * FL_MAX_K bytes (int8) + FL_MAX_T * FL_MAX_K / 32 * 2 bytes (scales)
 *   scores     FL_MAX_CTX * 4 bytes */
#ifndef FLARE_HLS_CONFIG_H
#define FLARE_HLS_CONFIG_H

/* ---- attention: KV cache geometry ---- */
#ifndef FL_MAX_CTX
#define FL_MAX_CTX 2048 /* positions per sequence (KV cache rows per layer) */
#endif
#ifndef FL_MAX_LAYERS
#define FL_MAX_LAYERS 22 /* transformer layers with a KV cache */
#endif
#ifndef FL_MAX_KV_HEADS
#define FL_MAX_KV_HEADS 8 /* key/value heads (8: Llama-3 8B, Mistral 7B; 6: stories15M) */
#endif
#ifndef FL_MAX_HEADS
#define FL_MAX_HEADS 64 /* query heads (a multiple of the kv heads at run time) */
#endif
#ifndef FL_MAX_HEAD_DIM
#define FL_MAX_HEAD_DIM 64 /* elements per head; even */
#endif

/* ---- qmatmul: activation buffer and row count ---- */
#ifndef FL_MAX_K
#define FL_MAX_K 16384 /* input features (a multiple of 32) */
#endif
#ifndef FL_MAX_K_BLOCKS
#define FL_MAX_K_BLOCKS 512 /* FL_MAX_K / 32, spelled out for the HLS pragmas */
#endif
#ifndef FL_MAX_N
#define FL_MAX_N 262144 /* output rows (streamed, no on-chip storage) */
#endif

/* ---- both: tokens per call (prefill chunk / batch) ---- */
#ifndef FL_MAX_T
#define FL_MAX_T 64
#endif

#if (FL_MAX_K % 32) != 0 || FL_MAX_K_BLOCKS * 32 != FL_MAX_K
#error "FL_MAX_K must be a multiple of 32 (the Q8_0 block) and FL_MAX_K_BLOCKS = FL_MAX_K / 32"
#endif
#if (FL_MAX_HEAD_DIM % 2) != 0
#error "FL_MAX_HEAD_DIM must be even (RoPE rotates pairs)"
#endif

#endif
