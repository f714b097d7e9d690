/** Named bounds of every queue and pool, so memory stays flat however big the tree (STYLE §10). */

/**
 * Files being read and chunked at once across the whole backup (each worker still works on at most
 * FILES_PER_WORKER_MAX). 256 rather than 64: with 64 over two workers each worker's batch of small
 * files was its whole share, so it idled for the main thread's round trip after every batch; 100,000
 * small files took 5–9% less CPU, usr no more, peak RSS +2–4 MiB (docs/PERFORMANCE.md, "Many small files").
 */
export const FILES_IN_FLIGHT_MAX = 256;
/** Bytes of chunk data handed to the vault and not yet appended (sealing + write batch). */
export const CHUNK_BYTES_IN_FLIGHT_MAX = 16 * 1024 * 1024;
/**
 * Files one file worker has in progress at once. Each holds a head of FILE_HEAD_BYTES; their reads
 * wait on the libuv pool together, so a cold disk serves many small files while the worker seals.
 */
export const FILES_PER_WORKER_MAX = 16;
/** First read of every file: most small files fit, and need no block buffer. */
export const FILE_HEAD_BYTES = 64 * 1024;
/** Block buffers one file worker lends at once, to files larger than their head. */
export const BLOCK_BUFFERS_PER_WORKER_MAX = 4;
/**
 * Blocks of one file whose "which chunks are new?" answer may be awaited at once: the worker reads,
 * cuts and names the next blocks meanwhile instead of idling on the round trip. Each holds its
 * chunks' copies (about CHUNK_READ_BLOCK_BYTES).
 */
export const BLOCKS_IN_FLIGHT_PER_FILE_MAX = 3;
/**
 * A file of at least three segments is cut on two workers: every other segment (never the last) by
 * another worker, speculatively, joined to the true cut chain by the owner (chunker/segments.ts).
 */
export const SEGMENT_BYTES = 4 * 1024 * 1024;
/** Segments of one file being cut by another worker at once: each holds SEGMENT_BYTES plus a largest chunk. */
export const SEGMENTS_AHEAD_PER_FILE_MAX = 2;
/** Files one worker has cut with help at once (others go block by block): bounds the segment windows. */
export const SEGMENTED_FILES_PER_WORKER_MAX = 1;
/**
 * Size of one read block in a file worker (at least twice the largest chunk). Each file in
 * progress holds one (plus a largest chunk of carry-over): 1 MiB reads keep the disk busy, and
 * 4 MiB blocks cost 24 MiB more RSS with two workers for no measured speed.
 */
export const CHUNK_READ_BLOCK_BYTES = 1024 * 1024;
/** Deepest directory nesting followed; deeper levels are reported and skipped. */
export const TREE_DEPTH_MAX = 4096;
/** Bytes of blobs read ahead per file during restore (enough for long sequential vault reads). */
export const RESTORE_READ_AHEAD_BYTES = 2 * 1024 * 1024;
/**
 * Files at least this big are restored with their chunks written into the target by the vault's
 * record-opening threads (BlobStore.writeBlobTo): their plaintext never reaches the main thread.
 * Above the target's small-file size (256 KiB), whose pieces are gathered in memory.
 */
export const RESTORE_DIRECT_WRITE_MIN_BYTES = 1024 * 1024;
/**
 * Bytes of such a file asked for ahead (instead of RESTORE_READ_AHEAD_BYTES): the open workers each
 * need a queue of runs to stay busy while every reply makes its round trip through the main thread,
 * and only compressed runs are held meanwhile. The file weighs this much in RESTORE_BYTES_IN_FLIGHT_MAX.
 */
export const RESTORE_DIRECT_WRITE_AHEAD_BYTES = 8 * 1024 * 1024;
/**
 * Restore's bound on files, links and special files in flight: each holds its size (at most
 * RESTORE_READ_AHEAD_BYTES, or RESTORE_DIRECT_WRITE_AHEAD_BYTES for a file the vault writes itself;
 * at least RESTORE_LEAF_WEIGHT_MIN_BYTES) of this budget. Many small files
 * at once let the vault read them in long runs and open them on its workers; big files stay few.
 */
export const RESTORE_BYTES_IN_FLIGHT_MAX = 16 * 1024 * 1024;
/** So at most 256 leaves are in flight (each holds a promise chain and maybe an open file). */
export const RESTORE_LEAF_WEIGHT_MIN_BYTES = 64 * 1024;
/**
 * Young generation of each worker thread's V8 heap (semi-spaces of a third of it). V8's default
 * (up to 3 × 16 MiB on 64-bit) let each worker hold tens of MiB of short-lived garbage.
 */
export const WORKER_YOUNG_GENERATION_MB = 3;
