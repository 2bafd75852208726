#ifndef LUCID_DROP_PAGES_H
#define LUCID_DROP_PAGES_H
#include <node_api.h>
/* dropFilePages() → number: bytes of RSS whose page-table entries were dropped (drop_pages.c). */
napi_value drop_file_pages(napi_env env, napi_callback_info info);
/* trimMalloc() → boolean: malloc_trim(0) released memory (drop_pages.c). */
napi_value trim_malloc(napi_env env, napi_callback_info info);
#endif
