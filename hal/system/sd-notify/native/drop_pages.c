/*
 * dropFilePages(): drop this process's page-table entries for the pages it maps read-only from
 * files (the node binary's text and read-only data, shared libraries) with madvise(MADV_DONTNEED).
 *
 * Why: a Node process touches ~33 MB of the node binary while it starts (the snapshot, builtins'
 * sources and code cache, V8's code) and keeps them mapped, so an idle process shows ~41 MB RSS of
 * which only ~8 MB is its own memory. The pages stay in the page cache (shared with the other
 * node processes of the appliance); a page touched again is mapped again by a minor fault. What
 * RSS then shows is the working set. Measured in ota/README.md ("Memory of the idle agent").
 *
 * Safety: only private (copy-on-write) file mappings that are not writable now and hold no
 * anonymous page (smaps "Anonymous: 0 kB": no page was ever written, so the file holds exactly
 * what the process would read). RELRO and .data (written by the loader) keep their pages, and
 * anonymous memory (the heap) is never touched. For such a mapping MADV_DONTNEED is
 * semantically invisible: the next read faults the same bytes back in from the file.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "drop_pages.h"

struct mapping {
  unsigned long start, end, inode;
  char perms[8];
  long rss_kb, anon_kb;
  int valid;
};

/* Drops one mapping if it qualifies; returns the kB of RSS it held (0 if skipped). */
static long drop_mapping(const struct mapping *m) {
  if (!m->valid || m->inode == 0) return 0;
  /* perms: r w x p|s — readable, not writable, private. */
  if (m->perms[1] != '-' || m->perms[3] != 'p') return 0;
  if (m->anon_kb != 0 || m->rss_kb <= 0) return 0;
  if (madvise((void *)m->start, m->end - m->start, MADV_DONTNEED) != 0) return 0; /* e.g. locked */
  return m->rss_kb;
}

napi_value drop_file_pages(napi_env env, napi_callback_info info) {
  (void)info;
  FILE *f = fopen("/proc/self/smaps", "re");
  if (f == NULL) {
    char message[128];
    snprintf(message, sizeof message, "open /proc/self/smaps: %s", strerror(errno));
    napi_throw_error(env, "EIO", message);
    return NULL;
  }
  char line[4096];
  struct mapping m = {0};
  double dropped_kb = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long start, end, offset, inode;
    unsigned int major, minor;
    char perms[8];
    /* A mapping's header: "start-end perms offset major:minor inode [path]". Field lines
     * ("Rss:    12 kB") never match all seven conversions. */
    if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &start, &end, perms, &offset, &major, &minor, &inode) == 7) {
      dropped_kb += (double)drop_mapping(&m);
      memset(&m, 0, sizeof m);
      m.start = start;
      m.end = end;
      m.inode = inode;
      memcpy(m.perms, perms, sizeof m.perms);
      m.rss_kb = -1;
      m.anon_kb = -1; /* unknown until read: never drop on a missing field */
      m.valid = 1;
    } else if (strncmp(line, "Rss:", 4) == 0) {
      m.rss_kb = strtol(line + 4, NULL, 10);
    } else if (strncmp(line, "Anonymous:", 10) == 0) {
      m.anon_kb = strtol(line + 10, NULL, 10);
    }
    /* A line longer than the buffer only continues a path; the next fgets reads its tail,
     * which matches no header and no field. */
  }
  dropped_kb += (double)drop_mapping(&m);
  fclose(f);
  napi_value out;
  if (napi_create_double(env, dropped_kb * 1024.0, &out) != napi_ok) return NULL;
  return out;
}

/*
 * trimMalloc(): malloc_trim(0) — glibc keeps what a burst freed (undici's and zlib's buffers of a
 * check or an install) in its arenas; this returns the free pages to the kernel. Returns whether
 * any memory was released.
 */
napi_value trim_malloc(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (napi_get_boolean(env, malloc_trim(0) != 0, &out) != napi_ok) return NULL;
  return out;
}
