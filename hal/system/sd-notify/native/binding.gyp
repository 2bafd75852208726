{
  "targets": [
    {
      "target_name": "sd_notify",
      "sources": ["sd_notify.c", "drop_pages.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
