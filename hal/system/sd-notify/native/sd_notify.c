/*
 * lucid-sd-notify: send one datagram to systemd's NOTIFY_SOCKET.
 *
 * Why native: NOTIFY_SOCKET is an AF_UNIX SOCK_DGRAM socket and Node's net/dgram modules cannot
 * open unix datagram sockets. The device image has no shell, so spawning systemd-notify is not an
 * option either. This is the whole of sd_notify(3) we need: socket, sendto, close.
 *
 * send(path, message): path is a filesystem path, or '@name' for an abstract socket (the '@'
 * becomes the leading NUL, as systemd spells it). Throws an Error whose message carries the
 * errno text (and whose .code is the errno name) when anything fails.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "drop_pages.h"

static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOBUFS: return "ENOBUFS";
    case EAGAIN: return "EAGAIN";
    case ENOTSOCK: return "ENOTSOCK";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EINVAL: return "EINVAL";
    default: return "EIO";
  }
}

static void throw_errno(napi_env env, const char *what, const char *path, int err) {
  char message[512];
  snprintf(message, sizeof message, "%s %s: %s", what, path, strerror(err));
  napi_throw_error(env, errno_name(err), message);
}

/* Copies a JS string argument into a fresh NUL-terminated buffer; NULL (with an exception
 * pending) if it is not a string. *len receives the byte length without the NUL. */
static char *get_string(napi_env env, napi_value value, const char *name, size_t *len) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    char message[64];
    snprintf(message, sizeof message, "%s must be a string", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, NULL, 0, len) != napi_ok) return NULL;
  char *buf = malloc(*len + 1);
  if (buf == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, buf, *len + 1, len) != napi_ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

static napi_value send_message(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "send(path, message) needs two arguments");
    return NULL;
  }
  size_t path_len = 0, msg_len = 0;
  char *path = get_string(env, argv[0], "path", &path_len);
  if (path == NULL) return NULL;
  char *msg = get_string(env, argv[1], "message", &msg_len);
  if (msg == NULL) {
    free(path);
    return NULL;
  }

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  socklen_t addr_len;
  int fd = -1;
  if (path_len < 2 || (path[0] != '/' && path[0] != '@')) {
    /* systemd only ever sets absolute or abstract addresses; anything else is a mistake. */
    napi_throw_error(env, "EINVAL", "socket path must be absolute or start with '@'");
    goto done;
  }
  if (path_len >= sizeof addr.sun_path) {
    throw_errno(env, "sendto", path, ENAMETOOLONG);
    goto done;
  }
  memcpy(addr.sun_path, path, path_len);
  if (path[0] == '@') {
    /* Abstract namespace: the name is the bytes after a leading NUL, with no terminator. */
    addr.sun_path[0] = '\0';
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  } else {
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
  }

  /* CLOEXEC so a child spawned at the same moment never inherits the fd. */
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", path, errno);
    goto done;
  }
  /* MSG_NOSIGNAL: a vanished peer must become an error, never a SIGPIPE that kills Node. */
  ssize_t sent = sendto(fd, msg, msg_len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
  if (sent < 0) {
    throw_errno(env, "sendto", path, errno);
  } else if ((size_t)sent != msg_len) {
    throw_errno(env, "sendto (short datagram)", path, EMSGSIZE);
  }

done:
  if (fd >= 0) close(fd);
  free(path);
  free(msg);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_message, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "send", fn) != napi_ok) return NULL;
  /* The idle OTA agent's page trimming (drop_pages.c) rides in this addon: same build, same
   * cross-compilation, same image checks as a second addon would need, for one function. */
  if (napi_create_function(env, "dropFilePages", NAPI_AUTO_LENGTH, drop_file_pages, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dropFilePages", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "trimMalloc", NAPI_AUTO_LENGTH, trim_malloc, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trimMalloc", fn) != napi_ok) return NULL;
  return exports;
}
