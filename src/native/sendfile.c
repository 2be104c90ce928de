// sendfile(2) for the local file store's downloads (src/http/file-sendfile.ts): the kernel moves a
// blob's pages from the page cache to the connection, where a userland copy reads every byte into a
// buffer and writes it out again. This is nginx's `sendfile on`. Node has no binding for it.
//
// One call, send(socketFd, fileFd, offset, count), runs on libuv's thread pool (a cold file may make
// sendfile wait for the disk) and resolves to [sent, errno, nextByte]:
//   - errno 0: all `count` bytes were sent;
//   - EAGAIN: the connection's send buffer is full after `sent` bytes; nextByte is the file's byte at
//     offset + sent, which the caller writes through Node's own socket so that libuv tells it when
//     the connection can take more (nextByte is -1 if it could not be read);
//   - -1: the file ended before offset + count;
//   - any other errno: the send failed (EPIPE, ECONNRESET: the client went away).
// The socket descriptor is duplicated while the work runs, so that the connection closing meanwhile
// on the main thread never leaves this thread writing to a descriptor number reused by another file.
// Linux only (sendfile to a socket from a regular file); elsewhere the addon is not built.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <node_api.h>

// The most one sendfile call moves on Linux.
#define MAX_SENDFILE_BYTES 0x7ffff000LL

typedef struct {
  int socket_fd;  // our duplicate, closed when the work completes
  int file_fd;    // the caller's; it stays open until the promise settles
  int64_t offset;
  int64_t count;
  int64_t sent;
  int error;
  int next_byte;
  napi_deferred deferred;
  napi_async_work work;
} SendJob;

static void execute(napi_env env, void* data) {
  (void)env;
  SendJob* job = (SendJob*)data;
  off_t offset = (off_t)job->offset;
  while (job->sent < job->count) {
    int64_t left = job->count - job->sent;
    ssize_t n = sendfile(job->socket_fd, job->file_fd, &offset, (size_t)(left < MAX_SENDFILE_BYTES ? left : MAX_SENDFILE_BYTES));
    if (n > 0) {
      job->sent += n;
    } else if (n == 0) {
      job->error = -1;
      return;
    } else if (errno == EINTR) {
      continue;
    } else {
      job->error = errno;
      break;
    }
  }
  if (job->error == EAGAIN || job->error == EWOULDBLOCK) {
    job->error = EAGAIN;
    unsigned char byte;
    ssize_t got;
    do {
      got = pread(job->file_fd, &byte, 1, (off_t)(job->offset + job->sent));
    } while (got < 0 && errno == EINTR);
    job->next_byte = got == 1 ? byte : -1;
  }
}

static void complete(napi_env env, napi_status status, void* data) {
  SendJob* job = (SendJob*)data;
  close(job->socket_fd);
  napi_value result = NULL;
  napi_value values[3];
  if (status == napi_ok && napi_create_array_with_length(env, 3, &result) == napi_ok &&
      napi_create_double(env, (double)job->sent, &values[0]) == napi_ok &&
      napi_create_int32(env, job->error, &values[1]) == napi_ok && napi_create_int32(env, job->next_byte, &values[2]) == napi_ok) {
    for (uint32_t i = 0; i < 3; i++) napi_set_element(env, result, i, values[i]);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message = NULL;
    napi_value error = NULL;
    napi_create_string_utf8(env, "sendfile: the work could not complete", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 4) {
    napi_throw_type_error(env, NULL, "send(socketFd, fileFd, offset, count)");
    return NULL;
  }
  int32_t socket_fd;
  int32_t file_fd;
  int64_t offset;
  int64_t count;
  if (napi_get_value_int32(env, argv[0], &socket_fd) != napi_ok || napi_get_value_int32(env, argv[1], &file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &count) != napi_ok ||
      socket_fd < 0 || file_fd < 0 || offset < 0 || count < 0) {
    napi_throw_type_error(env, NULL, "send(socketFd, fileFd, offset, count): descriptors and numbers >= 0 expected");
    return NULL;
  }
  SendJob* job = (SendJob*)calloc(1, sizeof(SendJob));
  if (job == NULL) {
    napi_throw_error(env, NULL, "sendfile: out of memory");
    return NULL;
  }
  job->socket_fd = fcntl(socket_fd, F_DUPFD_CLOEXEC, 0);
  if (job->socket_fd < 0) {
    free(job);
    napi_throw_error(env, NULL, "sendfile: the connection's descriptor could not be duplicated");
    return NULL;
  }
  job->file_fd = file_fd;
  job->offset = offset;
  job->count = count;
  job->next_byte = -1;
  napi_value promise;
  napi_value name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "extrepo.sendfile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    close(job->socket_fd);
    free(job);
    napi_throw_error(env, NULL, "sendfile: the work could not be queued");
    return NULL;
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_file, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "send", fn) != napi_ok) return NULL;
  return exports;
}
