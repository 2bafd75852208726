/** Sends one datagram to a unix socket path ('@name' = abstract). Throws with the errno text. */
export declare function send(path: string, message: string): void;
/**
 * Drops the page-table entries of this process's read-only, never-written private file mappings
 * (madvise MADV_DONTNEED; drop_pages.c). Returns the bytes of RSS they held.
 */
export declare function dropFilePages(): number;
/** malloc_trim(0): returns the free pages of glibc's arenas to the kernel; true if any were. */
export declare function trimMalloc(): boolean;
