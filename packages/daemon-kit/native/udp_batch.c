/*
 * Batched UDP I/O for the DNS listener (daemon-kit src/udp-io/): a UDP socket served on the main thread's libuv
 * loop without a Buffer, an address object or a JS call per datagram.
 *
 * On readable, recvmmsg drains up to `batchSize` datagrams into one preallocated buffer shared with JS (one slot
 * of 64 KiB per datagram, so nothing is ever truncated), writes their lengths and source ports into a shared
 * Int32Array, and calls JS once for the batch. JS copies each reply into a shared output buffer and lists it as
 * (offset, length, slot of the datagram it answers); one sendmmsg sends them all to the sources kept here.
 * Replies the kernel does not take (EAGAIN, ENOBUFS) are copied into a queue and sent when the socket is
 * writable; meanwhile reading stops, so a socket that cannot send does not pile up answers (the kernel drops
 * queries instead, as it would for a full receive buffer). Later answers (async handlers) go out one sendto each.
 *
 * Lifetime: while open, the JS object is strongly referenced from here (the poll keeps calling into it). close()
 * stops the poll and closes the fd at once; the struct is freed when both the uv handle has closed and the JS
 * object has been collected. The memory shared with JS is one block of our own behind an external ArrayBuffer,
 * counted separately: it lives until both the struct and that ArrayBuffer are gone, so a view JS keeps after the
 * socket is collected, or an ArrayBuffer JS detaches or transfers, never leaves either side with freed memory.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A slot holds the largest possible UDP payload: no datagram is ever cut short. */
#define SLOT_SIZE 65536
#define INPUT_FIELDS 2  /* length, source port */
#define OUTPUT_FIELDS 3 /* offset, length, slot */
#define MAX_BATCH 1024
/* Batches read per readable event before the loop gets a turn (timers, TCP); libuv's own UDP reads 32 datagrams. */
#define BATCHES_PER_EVENT 4
/* Replies kept for a socket that cannot send before more are dropped (UDP: the client retries). */
#define MAX_QUEUED 4096
#define MAX_QUEUED_BYTES (4 * 1024 * 1024)
/* The largest UDP payload a reply may have; larger ones fail with EMSGSIZE as sendto would. */
#define MAX_DATAGRAM 65535
#define MAX_OUTPUT_SIZE (16 * 1024 * 1024)

/* The block shared with JS: [input][inputMeta][outputMeta][output], freed when its last holder lets go. */
typedef struct {
  int holders;
  size_t size;
  uint8_t bytes[];
} SharedMemory;

static void release_shared(SharedMemory *m) {
  if (m != NULL && --m->holders == 0) free(m);
}

typedef struct {
  struct sockaddr_storage address;
  socklen_t address_length;
  uint32_t length;
  uint8_t *data;
} Queued;

typedef struct {
  napi_env env;
  int fd;
  int family;
  int open;
  int poll_started;
  int handle_closed;
  int finalized;
  int events;
  int in_batch;
  int batch_count;
  int cleanup_hook;
  uint32_t batch_size;
  uint32_t output_size;
  int test_partial_sends;
  int pending_error;
  uv_poll_t poll;
  napi_ref wrapper_ref;
  napi_ref on_batch_ref;
  napi_ref on_error_ref;
  napi_async_context async_context;
  SharedMemory *memory;
  uint8_t *input;
  int32_t *input_meta;
  uint8_t *output;
  int32_t *output_meta;
  struct mmsghdr *recv_msgs;
  struct iovec *recv_iov;
  struct sockaddr_storage *sources;
  struct mmsghdr *send_msgs;
  struct iovec *send_iov;
  Queued *queue;
  uint32_t queue_head;
  uint32_t queue_count;
  size_t queue_bytes;
  /* Statistics (tests and benchmarks). */
  double received;
  double receive_calls;
  double sent;
  double send_calls;
  double queued;
  double dropped;
  double send_errors;
} Socket;

static void free_socket(Socket *s) {
  release_shared(s->memory);
  free(s->recv_msgs);
  free(s->recv_iov);
  free(s->sources);
  free(s->send_msgs);
  free(s->send_iov);
  free(s->queue);
  free(s);
}

/* ---------- errors ---------- */

static void throw_system_error(napi_env env, const char *syscall, int code, const char *host, int port) {
  char message[256];
  if (host != NULL) {
    snprintf(message, sizeof message, "%s %s %s:%d", syscall, uv_err_name(-code), host, port);
  } else {
    snprintf(message, sizeof message, "%s %s", syscall, uv_err_name(-code));
  }
  napi_value code_value, message_value, error, errno_value, syscall_value;
  napi_create_string_utf8(env, uv_err_name(-code), NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &error);
  napi_create_int32(env, -code, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  if (host != NULL) {
    napi_value address_value, port_value;
    napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &address_value);
    napi_set_named_property(env, error, "address", address_value);
    napi_create_int32(env, port, &port_value);
    napi_set_named_property(env, error, "port", port_value);
  }
  napi_throw(env, error);
}

static int is_retry_later(int code) { return code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS; }

/* ---------- the poll ---------- */

static void on_poll(uv_poll_t *handle, int status, int events);

static void watch(Socket *s) {
  if (!s->open || !s->poll_started) return;
  int wanted = s->queue_count > 0 ? UV_WRITABLE : UV_READABLE;
  if (wanted != s->events) {
    uv_poll_start(&s->poll, wanted, on_poll);
    s->events = wanted;
  }
}

/* ---------- sending ---------- */

static void enqueue(Socket *s, const struct sockaddr *address, socklen_t address_length, const uint8_t *data,
                    uint32_t length) {
  if (s->queue_count >= MAX_QUEUED || s->queue_bytes + length > MAX_QUEUED_BYTES) {
    s->dropped++;
    return;
  }
  uint8_t *copy = malloc(length > 0 ? length : 1);
  if (copy == NULL) {
    s->dropped++;
    return;
  }
  if (length > 0) memcpy(copy, data, length);
  s->queue_bytes += length;
  Queued *q = &s->queue[(s->queue_head + s->queue_count) % MAX_QUEUED];
  memcpy(&q->address, address, address_length);
  q->address_length = address_length;
  q->length = length;
  q->data = copy;
  s->queue_count++;
  s->queued++;
}

static void enqueue_messages(Socket *s, struct mmsghdr *msgs, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    struct msghdr *h = &msgs[i].msg_hdr;
    enqueue(s, h->msg_name, h->msg_namelen, h->msg_iov->iov_base, (uint32_t)h->msg_iov->iov_len);
  }
}

static void note_send_error(Socket *s, int code) {
  s->send_errors++;
  if (s->pending_error == 0) s->pending_error = code;
}

/*
 * Sends prepared messages in order. Whatever the kernel will not take now is queued (after anything already
 * queued, so replies keep their order); a message the kernel refuses for good (EPERM, ENETUNREACH, …) is
 * dropped and noted, and the rest still go.
 */
static void send_messages(Socket *s, struct mmsghdr *msgs, uint32_t count) {
  uint32_t done = 0;
  int calls = 0;
  while (done < count) {
    if (s->queue_count > 0) {
      enqueue_messages(s, msgs + done, count - done);
      break;
    }
    uint32_t want = count - done;
    if (s->test_partial_sends) {
      /* Tests: the kernel takes half of a flush, then reports EAGAIN. */
      if (calls > 0) {
        enqueue_messages(s, msgs + done, want);
        break;
      }
      if (want > 1) want = want / 2;
    }
    int sent = sendmmsg(s->fd, msgs + done, want, MSG_DONTWAIT);
    calls++;
    s->send_calls++;
    if (sent > 0) {
      done += (uint32_t)sent;
      s->sent += sent;
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && is_retry_later(errno)) {
      enqueue_messages(s, msgs + done, count - done);
      break;
    }
    note_send_error(s, sent < 0 ? errno : EIO);
    done++;
  }
  watch(s);
}

/* Fills send message `i` (of s->send_msgs) with one datagram to `address`. */
static void set_message(Socket *s, uint32_t i, void *address, socklen_t address_length, void *data, size_t length) {
  s->send_iov[i].iov_base = data;
  s->send_iov[i].iov_len = length;
  struct msghdr *h = &s->send_msgs[i].msg_hdr;
  memset(h, 0, sizeof *h);
  h->msg_name = address;
  h->msg_namelen = address_length;
  h->msg_iov = &s->send_iov[i];
  h->msg_iovlen = 1;
}

/* Frees the oldest queued reply. */
static void drop_queue_head(Socket *s) {
  s->queue_bytes -= s->queue[s->queue_head].length;
  free(s->queue[s->queue_head].data);
  s->queue_head = (s->queue_head + 1) % MAX_QUEUED;
  s->queue_count--;
}

/* Sends queued replies while the kernel takes them; true when the queue is empty. */
static int drain_queue(Socket *s) {
  while (s->queue_count > 0 && s->open) {
    uint32_t count = s->queue_count < s->batch_size ? s->queue_count : s->batch_size;
    for (uint32_t i = 0; i < count; i++) {
      Queued *q = &s->queue[(s->queue_head + i) % MAX_QUEUED];
      set_message(s, i, &q->address, q->address_length, q->data, q->length);
    }
    int sent = sendmmsg(s->fd, s->send_msgs, count, MSG_DONTWAIT);
    s->send_calls++;
    uint32_t drop = 0;
    if (sent > 0) {
      drop = (uint32_t)sent;
      s->sent += sent;
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else if (sent < 0 && is_retry_later(errno)) {
      break;
    } else {
      note_send_error(s, sent < 0 ? errno : EIO);
      drop = 1;
    }
    for (uint32_t i = 0; i < drop; i++) drop_queue_head(s);
  }
  return s->queue_count == 0;
}

static void clear_queue(Socket *s) {
  while (s->queue_count > 0) drop_queue_head(s);
  s->queue_bytes = 0;
}

/* Builds messages from the output list JS wrote (offset, length, slot) and sends them. */
static void send_replies(Socket *s, int32_t count) {
  if (count <= 0 || !s->open) return;
  if ((uint32_t)count > s->batch_size) count = (int32_t)s->batch_size;
  uint32_t ready = 0;
  for (int32_t i = 0; i < count; i++) {
    int32_t offset = s->output_meta[OUTPUT_FIELDS * i];
    int32_t length = s->output_meta[OUTPUT_FIELDS * i + 1];
    int32_t slot = s->output_meta[OUTPUT_FIELDS * i + 2];
    if (offset < 0 || length < 0 || (uint32_t)offset + (uint32_t)length > s->output_size || slot < 0 ||
        slot >= s->batch_count) {
      continue;
    }
    set_message(s, ready, &s->sources[slot], s->recv_msgs[slot].msg_hdr.msg_namelen, s->output + offset,
                (size_t)length);
    ready++;
  }
  send_messages(s, s->send_msgs, ready);
}

/* ---------- calling JS ---------- */

static int32_t call_js(Socket *s, napi_ref function_ref, int32_t argument_value) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  napi_value function, receiver, argument, result;
  int32_t returned = 0;
  napi_get_reference_value(env, function_ref, &function);
  napi_get_reference_value(env, s->wrapper_ref, &receiver);
  napi_create_int32(env, argument_value, &argument);
  napi_status status = napi_make_callback(env, s->async_context, receiver, function, 1, &argument, &result);
  if (status == napi_ok) {
    if (napi_get_value_int32(env, result, &returned) != napi_ok) returned = 0;
  } else {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      /* As an exception thrown by a 'message' listener of node:dgram: the process's uncaughtException. */
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
  return returned;
}

static void report_pending_error(Socket *s) {
  if (s->pending_error == 0 || !s->open) return;
  int code = s->pending_error;
  s->pending_error = 0;
  call_js(s, s->on_error_ref, -code);
}

/* ---------- receiving ---------- */

static int source_port(const struct sockaddr_storage *address) {
  if (address->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)address)->sin_port);
  if (address->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)address)->sin6_port);
  return 0;
}

static void receive(Socket *s) {
  for (int round = 0; round < BATCHES_PER_EVENT && s->open && s->queue_count == 0; round++) {
    for (uint32_t i = 0; i < s->batch_size; i++) {
      s->recv_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      s->recv_msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->recv_msgs, s->batch_size, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (!is_retry_later(errno)) note_send_error(s, errno);
      break;
    }
    if (n == 0) break;
    s->receive_calls++;
    s->received += n;
    for (int i = 0; i < n; i++) {
      s->input_meta[INPUT_FIELDS * i] = (int32_t)s->recv_msgs[i].msg_len;
      s->input_meta[INPUT_FIELDS * i + 1] = source_port(&s->sources[i]);
    }
    s->batch_count = n;
    s->in_batch = 1;
    int32_t replies = call_js(s, s->on_batch_ref, n);
    s->in_batch = 0;
    if (!s->open) {
      s->batch_count = 0;
      return;
    }
    send_replies(s, replies);
    s->batch_count = 0;
    /* Level-triggered: a short batch means the queue was empty a moment ago; the poll says when it is not. */
    if ((uint32_t)n < s->batch_size) break;
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  Socket *s = handle->data;
  if (!s->open) return;
  if (status < 0) {
    note_send_error(s, -status);
  } else {
    if (events & UV_WRITABLE) drain_queue(s);
    if (s->open && (events & UV_READABLE) && s->queue_count == 0) receive(s);
  }
  if (!s->open) return;
  watch(s);
  report_pending_error(s);
}

/* ---------- closing ---------- */

static void on_handle_closed(uv_handle_t *handle) {
  Socket *s = handle->data;
  s->handle_closed = 1;
  if (s->finalized) free_socket(s);
}

/* Stops the poll and closes the fd; no N-API calls (also runs from the environment's cleanup hook). */
static void shut(Socket *s) {
  if (!s->open) return;
  s->open = 0;
  if (s->poll_started) {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  } else {
    s->handle_closed = 1;
  }
  close(s->fd);
  s->fd = -1;
  clear_queue(s);
}

static void cleanup_hook(void *data) {
  Socket *s = data;
  s->cleanup_hook = 0;
  shut(s);
}

static void finalize(napi_env env, void *data, void *hint) {
  Socket *s = data;
  if (s->cleanup_hook) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    s->cleanup_hook = 0;
  }
  shut(s);
  if (s->on_batch_ref != NULL) napi_delete_reference(env, s->on_batch_ref);
  if (s->on_error_ref != NULL) napi_delete_reference(env, s->on_error_ref);
  if (s->wrapper_ref != NULL) napi_delete_reference(env, s->wrapper_ref);
  if (s->async_context != NULL) napi_async_destroy(env, s->async_context);
  s->finalized = 1;
  if (s->handle_closed) free_socket(s);
}

/* ---------- JS methods ---------- */

static Socket *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a UdpBatchSocket");
    return NULL;
  }
  return data;
}

/* unwrap for methods of one int32 argument; `*value` is left as it is when the argument is not a number. */
static Socket *unwrap_int32(napi_env env, napi_callback_info info, int32_t *value) {
  size_t argc = 1;
  napi_value argv[1];
  Socket *s = unwrap(env, info, &argc, argv);
  if (s != NULL) napi_get_value_int32(env, argv[0], value);
  return s;
}

static int32_t get_int32(napi_env env, napi_value object, const char *name, int32_t fallback) {
  napi_value value;
  napi_valuetype type;
  int32_t result = fallback;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return fallback;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return fallback;
  napi_get_value_int32(env, value, &result);
  return result;
}

static void release_shared_memory(napi_env env, void *data, void *hint) { release_shared(hint); }

static napi_value set_number(napi_env env, napi_value object, const char *name, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  napi_set_named_property(env, object, name, value);
  return value;
}

/*
 * new UdpBatchSocket({ address, port, batchSize, outputSize, sendBufferSize?, testPartialSends?, onBatch, onError })
 * binds (throws a dgram-like error: code, errno, syscall, address, port) and sets up `memory`, one ArrayBuffer
 * shared with JS holding, at the offsets given by the properties of the same names:
 *   inputOffset       batchSize slots of slotSize octets (the datagrams of the current batch)
 *   inputMetaOffset   Int32 (length, source port) per slot
 *   outputMetaOffset  Int32 (offset into output, length, slot) per reply, batchSize replies
 *   outputOffset      outputSize octets of replies
 * onBatch(count) returns how many replies it listed; onError(code) gets a negative errno.
 */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_object) {
    napi_throw_type_error(env, NULL, "options object expected");
    return NULL;
  }
  napi_value options = argv[0];

  char host[INET6_ADDRSTRLEN + UV_IF_NAMESIZE + 2];
  size_t host_length = 0;
  napi_value value;
  /* A string that filled the buffer may have been cut short: never bind to what is left of it. */
  if (napi_get_named_property(env, options, "address", &value) != napi_ok ||
      napi_get_value_string_utf8(env, value, host, sizeof host, &host_length) != napi_ok ||
      host_length >= sizeof host - 1) {
    napi_throw_type_error(env, NULL, "options.address must be an IP address");
    return NULL;
  }
  int32_t port = get_int32(env, options, "port", -1);
  int32_t batch_size = get_int32(env, options, "batchSize", 64);
  int32_t output_size = get_int32(env, options, "outputSize", 256 * 1024);
  int32_t send_buffer_size = get_int32(env, options, "sendBufferSize", 0);
  napi_value on_batch, on_error;
  napi_valuetype on_batch_type = napi_undefined, on_error_type = napi_undefined;
  napi_get_named_property(env, options, "onBatch", &on_batch);
  napi_get_named_property(env, options, "onError", &on_error);
  napi_typeof(env, on_batch, &on_batch_type);
  napi_typeof(env, on_error, &on_error_type);
  if (port < 0 || port > 65535 || batch_size < 1 || batch_size > MAX_BATCH || output_size < SLOT_SIZE ||
      output_size > MAX_OUTPUT_SIZE || send_buffer_size < 0 || on_batch_type != napi_function || on_error_type != napi_function) {
    napi_throw_range_error(env, NULL, "bad UdpBatchSocket options");
    return NULL;
  }
  bool test_partial_sends = false;
  if (napi_get_named_property(env, options, "testPartialSends", &value) == napi_ok) {
    napi_get_value_bool(env, value, &test_partial_sends);
  }

  struct sockaddr_storage bind_address;
  memset(&bind_address, 0, sizeof bind_address);
  socklen_t bind_length;
  int family;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&bind_address) == 0) {
    family = AF_INET;
    bind_length = sizeof(struct sockaddr_in);
  } else if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&bind_address) == 0) {
    family = AF_INET6;
    bind_length = sizeof(struct sockaddr_in6);
  } else {
    napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", "options.address must be an IP address");
    return NULL;
  }

  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_system_error(env, "socket", errno, NULL, 0);
    return NULL;
  }
  if (send_buffer_size > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer_size, sizeof send_buffer_size) != 0) {
    int code = errno;
    close(fd);
    throw_system_error(env, "setsockopt", code, NULL, 0);
    return NULL;
  }
  if (bind(fd, (struct sockaddr *)&bind_address, bind_length) != 0) {
    int code = errno;
    close(fd);
    throw_system_error(env, "bind", code, host, port);
    return NULL;
  }
  struct sockaddr_storage bound;
  memset(&bound, 0, sizeof bound);
  socklen_t bound_length = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) != 0) {
    int code = errno;
    close(fd);
    throw_system_error(env, "getsockname", code, NULL, 0);
    return NULL;
  }

  Socket *s = calloc(1, sizeof(Socket));
  if (s == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  s->open = 1;
  s->handle_closed = 1; /* until the poll is started */
  s->batch_size = (uint32_t)batch_size;
  s->output_size = (uint32_t)output_size;
  s->test_partial_sends = test_partial_sends;
  s->recv_msgs = calloc(batch_size, sizeof(struct mmsghdr));
  s->recv_iov = calloc(batch_size, sizeof(struct iovec));
  s->sources = calloc(batch_size, sizeof(struct sockaddr_storage));
  s->send_msgs = calloc(batch_size, sizeof(struct mmsghdr));
  s->send_iov = calloc(batch_size, sizeof(struct iovec));
  s->queue = calloc(MAX_QUEUED, sizeof(Queued));
  size_t input_size = (size_t)batch_size * SLOT_SIZE;
  size_t input_meta_size = (size_t)batch_size * INPUT_FIELDS * sizeof(int32_t);
  size_t output_meta_size = (size_t)batch_size * OUTPUT_FIELDS * sizeof(int32_t);
  size_t memory_size = input_size + input_meta_size + output_meta_size + (size_t)output_size;
  /* calloc: JS never sees what an earlier user of this memory left in it. */
  s->memory = calloc(1, sizeof(SharedMemory) + memory_size);
  if (s->memory != NULL) {
    s->memory->holders = 1;
    s->memory->size = memory_size;
  }
  if (!s->recv_msgs || !s->recv_iov || !s->sources || !s->send_msgs || !s->send_iov || !s->queue || !s->memory) {
    close(fd);
    free_socket(s);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if (napi_wrap(env, self, s, finalize, NULL, NULL) != napi_ok) {
    close(fd);
    free_socket(s);
    napi_throw_error(env, NULL, "napi_wrap failed");
    return NULL;
  }
  /* From here on the finalizer owns s. */
  uint8_t *bytes = s->memory->bytes;
  s->input = bytes;
  s->input_meta = (int32_t *)(bytes + input_size);
  s->output_meta = (int32_t *)(bytes + input_size + input_meta_size);
  s->output = bytes + input_size + input_meta_size + output_meta_size;
  napi_value memory;
  if (napi_create_external_arraybuffer(env, bytes, memory_size, release_shared_memory, s->memory, &memory) !=
      napi_ok) {
    shut(s);
    napi_throw_error(env, "ENOMEM", "cannot share the buffers with JS");
    return NULL;
  }
  s->memory->holders++;
  napi_set_named_property(env, self, "memory", memory);
  set_number(env, self, "inputOffset", 0);
  set_number(env, self, "inputMetaOffset", (double)input_size);
  set_number(env, self, "outputMetaOffset", (double)(input_size + input_meta_size));
  set_number(env, self, "outputOffset", (double)(input_size + input_meta_size + output_meta_size));
  for (int32_t i = 0; i < batch_size; i++) {
    s->recv_iov[i].iov_base = s->input + (size_t)i * SLOT_SIZE;
    s->recv_iov[i].iov_len = SLOT_SIZE;
    s->recv_msgs[i].msg_hdr.msg_iov = &s->recv_iov[i];
    s->recv_msgs[i].msg_hdr.msg_iovlen = 1;
    s->recv_msgs[i].msg_hdr.msg_name = &s->sources[i];
  }
  napi_create_reference(env, on_batch, 1, &s->on_batch_ref);
  napi_create_reference(env, on_error, 1, &s->on_error_ref);
  napi_create_reference(env, self, 1, &s->wrapper_ref);
  napi_value resource_name;
  napi_create_string_utf8(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &s->async_context);
  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  s->cleanup_hook = 1;

  set_number(env, self, "port", source_port(&bound));
  set_number(env, self, "batchSize", batch_size);
  set_number(env, self, "slotSize", SLOT_SIZE);
  set_number(env, self, "outputSize", output_size);
  return self;
}

/* start(): begins reading. */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Socket *s = unwrap(env, info, &argc, NULL);
  if (s == NULL || !s->open || s->poll_started) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "no event loop");
    return NULL;
  }
  int status = uv_poll_init(loop, &s->poll, s->fd);
  if (status != 0) {
    throw_system_error(env, "uv_poll_init", -status, NULL, 0);
    return NULL;
  }
  s->poll.data = s;
  s->poll_started = 1;
  s->handle_closed = 0;
  s->events = 0;
  watch(s);
  return NULL;
}

/* address(slot): the source address of a datagram of the current batch, as node:dgram's rinfo.address. */
static napi_value address(napi_env env, napi_callback_info info) {
  int32_t slot = -1;
  Socket *s = unwrap_int32(env, info, &slot);
  if (s == NULL) return NULL;
  if (slot < 0 || slot >= s->batch_count) {
    napi_throw_range_error(env, NULL, "no such datagram in this batch");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN + UV_IF_NAMESIZE + 2] = "";
  const struct sockaddr_storage *source = &s->sources[slot];
  if (source->ss_family == AF_INET) {
    uv_ip4_name((const struct sockaddr_in *)source, text, sizeof text);
  } else if (source->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)source;
    uv_ip6_name(a6, text, sizeof text);
    /* As Node: a link-local address carries its interface. */
    if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr) && a6->sin6_scope_id > 0) {
      size_t length = strlen(text);
      size_t rest = sizeof text - length - 1;
      text[length] = '%';
      if (uv_if_indextoiid(a6->sin6_scope_id, text + length + 1, &rest) != 0) text[length] = '\0';
    }
  }
  napi_value result;
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &result);
  return result;
}

/* flush(count): sends the replies listed so far in this batch (JS's output buffer is full). */
static napi_value flush(napi_env env, napi_callback_info info) {
  int32_t count = 0;
  Socket *s = unwrap_int32(env, info, &count);
  if (s == NULL) return NULL;
  if (s->in_batch) send_replies(s, count);
  return NULL;
}

/* sendTo(data, address, port): one datagram now (an answer that came later); 0, or a negative errno. */
static napi_value send_to(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Socket *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  napi_value result;
  void *data = NULL;
  size_t length = 0;
  napi_typedarray_type array_type;
  napi_value array_buffer;
  size_t byte_offset;
  char host[INET6_ADDRSTRLEN + UV_IF_NAMESIZE + 2];
  size_t host_length = 0;
  int32_t port = -1;
  if (argc < 3 ||
      napi_get_typedarray_info(env, argv[0], &array_type, &length, &data, &array_buffer, &byte_offset) != napi_ok ||
      array_type != napi_uint8_array ||
      napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_length) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "sendTo(Uint8Array, address, port)");
    return NULL;
  }
  int code = 0;
  if (!s->open) {
    code = -EBADF;
  } else if (length > MAX_DATAGRAM) {
    code = -EMSGSIZE;
  } else if (host_length >= sizeof host - 1) {
    code = -EINVAL;
  } else {
    struct sockaddr_storage destination;
    memset(&destination, 0, sizeof destination);
    socklen_t destination_length = 0;
    if (s->family == AF_INET && uv_ip4_addr(host, port, (struct sockaddr_in *)&destination) == 0) {
      destination_length = sizeof(struct sockaddr_in);
    } else if (s->family == AF_INET6 && uv_ip6_addr(host, port, (struct sockaddr_in6 *)&destination) == 0) {
      destination_length = sizeof(struct sockaddr_in6);
    }
    if (destination_length == 0 || port <= 0 || port > 65535) {
      code = -EINVAL;
    } else if (s->queue_count > 0) {
      enqueue(s, (struct sockaddr *)&destination, destination_length, data, (uint32_t)length);
    } else {
      ssize_t sent;
      static const uint8_t nothing[1] = {0};
      if (data == NULL) data = (void *)nothing; /* a zero-length (or detached) array */
      do {
        sent = sendto(s->fd, data, length, MSG_DONTWAIT, (struct sockaddr *)&destination, destination_length);
      } while (sent < 0 && errno == EINTR);
      s->send_calls++;
      if (sent >= 0) {
        s->sent++;
      } else if (is_retry_later(errno)) {
        enqueue(s, (struct sockaddr *)&destination, destination_length, data, (uint32_t)length);
        watch(s);
      } else {
        code = -errno;
        s->send_errors++;
      }
    }
  }
  napi_create_int32(env, code, &result);
  return result;
}

/* close(): stops reading, closes the socket; queued replies are dropped. */
static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Socket *s = unwrap(env, info, &argc, NULL);
  if (s == NULL || !s->open) return NULL;
  shut(s);
  if (s->cleanup_hook) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    s->cleanup_hook = 0;
  }
  /* Nothing calls into JS any more: the object may be collected once JS lets go of it. */
  napi_reference_unref(env, s->wrapper_ref, NULL);
  return NULL;
}

/* stats(): counters since the socket was made. */
static napi_value stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Socket *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  napi_value result;
  napi_create_object(env, &result);
  set_number(env, result, "received", s->received);
  set_number(env, result, "receiveCalls", s->receive_calls);
  set_number(env, result, "sent", s->sent);
  set_number(env, result, "sendCalls", s->send_calls);
  set_number(env, result, "queued", s->queued);
  set_number(env, result, "queuedNow", s->queue_count);
  set_number(env, result, "dropped", s->dropped);
  set_number(env, result, "sendErrors", s->send_errors);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"start", NULL, start, NULL, NULL, NULL, napi_default_method, NULL},
      {"address", NULL, address, NULL, NULL, NULL, napi_default_method, NULL},
      {"flush", NULL, flush, NULL, NULL, NULL, napi_default_method, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value constructor;
  if (napi_define_class(env, "UdpBatchSocket", NAPI_AUTO_LENGTH, construct, NULL,
                        sizeof methods / sizeof methods[0], methods, &constructor) != napi_ok) {
    return NULL;
  }
  napi_set_named_property(env, exports, "UdpBatchSocket", constructor);
  return exports;
}
